"""Real nfcapd files for tests: Debian's nfcapd on 127.0.0.1 receives NetFlow v5 and v9
datagrams built here with struct from exactly known flows, and writes what a collector writes.

`collected(folder, datagrams, compression)` runs one nfcapd, sends the datagrams, stops it
with SIGTERM (it then writes and renames its current file) and returns the files it wrote.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import struct
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

# Exporter clock: seconds since the epoch when the datagram leaves, and its uptime then (ms).
# Flow times go out relative to the uptime, as routers send them.
EXPORT_TIME = int(datetime(2017, 7, 1, 0, 5, tzinfo=timezone.utc).timestamp())
UPTIME_MS = 3_600_000


@dataclass(frozen=True)
class Flow:
    src_ip: str
    dst_ip: str
    src_port: int
    dst_port: int
    protocol: int
    bytes: int
    packets: int
    start: int  # epoch seconds, whole: nfdump's CSV prints seconds
    end: int
    tcp_flags: int = 0  # the RFC bitmask the exporter reports (SYN 0x02, ACK 0x10, ...)

    def switched(self) -> tuple[int, int]:
        """First and last switched, in the exporter's uptime milliseconds."""
        return (UPTIME_MS - (EXPORT_TIME - self.start) * 1000, UPTIME_MS - (EXPORT_TIME - self.end) * 1000)


def netflow_v5(flows: list[Flow], sampling_interval: int = 0) -> bytes:
    """One v5 datagram; `sampling_interval` N > 0 says one packet in N was sampled (mode 01)."""
    sampling = (1 << 14 | sampling_interval) if sampling_interval else 0
    header = struct.pack("!HHIIIIBBH", 5, len(flows), UPTIME_MS, EXPORT_TIME, 0, 0, 0, 0, sampling)
    records = b"".join(
        struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", socket.inet_aton(f.src_ip), socket.inet_aton(f.dst_ip),
                    bytes(4), 1, 2, f.packets, f.bytes, *f.switched(), f.src_port, f.dst_port,
                    0, f.tcp_flags, f.protocol, 0, 0, 0, 24, 24, 0)
        for f in flows)
    return header + records


# NetFlow v9 field types (RFC 3954): (type, length).
_V9_COMMON = [(7, 2), (11, 2), (4, 1), (6, 1), (1, 4), (2, 4), (22, 4), (21, 4)]
_V9_TEMPLATES = {4: (256, [(8, 4), (12, 4)] + _V9_COMMON), 6: (257, [(27, 16), (28, 16)] + _V9_COMMON)}


def netflow_v9(flows: list[Flow], source_id: int = 7) -> bytes:
    """One v9 datagram: a template flowset for IPv4 and IPv6 flows, then one data flowset each."""
    templates = b"".join(struct.pack("!HH", tid, len(fields)) + b"".join(struct.pack("!HH", *f) for f in fields)
                         for tid, fields in _V9_TEMPLATES.values())
    sets = [struct.pack("!HH", 0, 4 + len(templates)) + templates]
    for version, (tid, _) in _V9_TEMPLATES.items():
        records = b"".join(
            ipaddress.ip_address(f.src_ip).packed + ipaddress.ip_address(f.dst_ip).packed
            + struct.pack("!HHBBIIII", f.src_port, f.dst_port, f.protocol, f.tcp_flags, f.bytes, f.packets,
                          *f.switched())
            for f in flows if ipaddress.ip_address(f.src_ip).version == version)
        if records:
            records += bytes(-len(records) % 4)  # flowsets pad to 32 bits
            sets.append(struct.pack("!HH", tid, 4 + len(records)) + records)
    header = struct.pack("!HHIIII", 9, len(_V9_TEMPLATES) + len(flows), UPTIME_MS, EXPORT_TIME, 1, source_id)
    return header + b"".join(sets)


def collected(folder: Path, datagrams: list[bytes], compression: str = "") -> list[Path]:
    """The files one nfcapd run writes into `folder` from `datagrams` (compression: "", "-z"
    LZO, "-y" LZ4 or "-j" BZ2)."""
    folder.mkdir(parents=True, exist_ok=True)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = ["nfcapd", "-b", "127.0.0.1", "-p", str(port), "-w", str(folder), "-t", "3600"]
    collector = subprocess.Popen(command + ([compression] if compression else []),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(0.5)  # nfcapd binds its socket at startup; a datagram sent before is lost
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for datagram in datagrams:
                sender.sendto(datagram, ("127.0.0.1", port))
        time.sleep(0.3)
    finally:
        collector.send_signal(signal.SIGTERM)  # nfcapd flushes, closes and renames its file
        log, _ = collector.communicate(timeout=30)
    files = sorted(p for p in folder.iterdir() if p.name.startswith("nfcapd.") and ".current." not in p.name)
    if collector.returncode != 0 or not files:
        raise RuntimeError(f"nfcapd ({' '.join(command)}) exited {collector.returncode}, wrote {files}: {log}")
    return files
