"""nfcapd files (nfdump's binary format, what nfcapd and sfcapd write every few minutes): tell
them by their header, convert them with nfdump on the executor that parses them, then parse
nfdump's CSV exactly as the nfdump CSV reader does.

`parse_object` (objects.py) calls `is_nfcapd` on every object, and for those it matches
`nfdump_csv` then the nfdump CSV reader and `unsampled`, inside the Spark task that holds the
object's bytes: nothing goes through the driver. Every Spark node needs Debian's nfdump 1.7.1
(`make nfdump` installs it; `bronze.nfdump` in the config names another binary). What runs
here, by hand: `TZ=UTC nfdump -o csv -r nfcapd.201707010000` and `nfdump -E nfcapd.201707010000`.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowlake.readers.records import ParsedObject, UnreadableObject

# Every nfcapd file starts with this magic and a layout version, little-endian: 1 for the
# files nfdump 1.6 wrote (LAYOUT_VERSION_1), 2 for nfdump 1.7's (LAYOUT_VERSION_2). The header
# itself is never compressed, whichever of LZO, BZ2, LZ4 or ZSTD compresses the data blocks.
NFCAPD_MAGIC = 0xA50C
NFCAPD_LAYOUTS = (1, 2)

# nfdump -E prints each exporter's sampler as "packet interval: N, packet space: M": one
# packet in every N + M is sampled, N at a time.
_EXPORTER = re.compile(r"^SysID: *(\d+),", re.MULTILINE)
_SAMPLER = re.compile(r"packet interval: *(\d+), *packet space: *(\d+)")


# What nfdump 1.7.1 says on stderr about a file it reads whole: 1.6 files carry sampler-info
# records (type 9) it skips, once per block, and prints every flow.
NFDUMP_WARNING = re.compile(r"^Skip unknown record type [0-9]+$")


class NfdumpMissing(RuntimeError):
    """The nfdump binary cannot be run on this node: no object of the run can be converted."""


def is_nfcapd(data: bytes) -> bool:
    return len(data) >= 4 and struct.unpack_from("<HH", data) in {(NFCAPD_MAGIC, v) for v in NFCAPD_LAYOUTS}


def _nfdump(nfdump: str, key: str, path: str, *args: str) -> str:
    """nfdump's output on `path`; its complaints (nfdump 1.7.1 exits 0 on a truncated or corrupt
    file and says why on stderr) raise UnreadableObject in nfdump's own words."""
    try:
        done = subprocess.run([nfdump, *args, path], capture_output=True, text=True, errors="replace",
                              env={**os.environ, "TZ": "UTC"}, check=False)
    except (FileNotFoundError, PermissionError) as err:
        raise NfdumpMissing(f"{key} is an nfcapd file, and converting it needs nfdump, which this Spark "
                            f"node cannot run ({nfdump!r}: {err.strerror}). Install Debian's nfdump on every "
                            "Spark node (`apt-get install nfdump`, docs/DEPLOY.md) or set bronze.nfdump "
                            "to its path.") from None
    complaints = [line.strip() for line in done.stderr.splitlines()
                  if line.strip() and not NFDUMP_WARNING.match(line.strip())]
    # Distinct lines, a few: a broken file can repeat one complaint for every block.
    complaint = " ".join(list(dict.fromkeys(complaints))[:5])
    if done.returncode != 0 or complaints:
        raise UnreadableObject(f"nfdump cannot read this nfcapd file: {complaint.replace(path, key)} "
                               f"(exit status {done.returncode})")
    return done.stdout


def sampling_rates(exporters: str) -> dict[int, int]:
    """Exporter SysID -> sampling rate, from `nfdump -E`, for exporters with exactly one rate."""
    rates: dict[int, set[int]] = {}
    starts = list(_EXPORTER.finditer(exporters)) + [None]
    for here, following in zip(starts, starts[1:]):
        block = exporters[here.end():following.start() if following else len(exporters)]
        rates[int(here.group(1))] = {round((int(i) + int(s)) / int(i)) for i, s in _SAMPLER.findall(block) if int(i)}
    return {sysid: found.pop() for sysid, found in rates.items() if len(found) == 1}


def unsampled(parsed: ParsedObject, lines: pa.Array, numbers: pa.Array, rates: dict[int, int]) -> ParsedObject:
    """Flows with the counts the exporter sent and its sampling rate.

    nfcapd multiplies packets and bytes by the exporter's sampling rate as it collects; bronze
    keeps sampled counts and the rate beside them (silver scales), so the counts are divided
    back. An exporter with no sampler, or several at different rates (which one applied to a
    flow is not in the CSV), keeps nfcapd's counts and the source's configured rate.
    """
    if not rates or not parsed.flows.num_rows:
        return parsed
    # exid (the exporter's SysID) is the last column but one, after it only tr (a time, no comma).
    exid = pc.cast(pc.struct_field(pc.extract_regex(lines, r",(?P<exid>[0-9]+),[^,]*$"), [0]), pa.int64())
    rate_by_line = np.zeros(pc.max(numbers).as_py() + 1, dtype=np.int64)
    rate_by_line[numbers.to_numpy()] = [rates.get(e, 0) if e is not None else 0 for e in exid.to_pylist()]
    flows = parsed.flows
    rate = pa.array(rate_by_line[flows.column("line_number").to_numpy()])
    known = pc.greater(rate, 0)
    for name in ("bytes", "packets"):
        counts = flows.column(name)
        flows = flows.set_column(flows.schema.get_field_index(name), name,
                                 pc.if_else(known, pc.divide(counts, pc.max_element_wise(rate, 1)), counts))
    column = flows.schema.get_field_index("sampling_rate")
    flows = flows.set_column(column, "sampling_rate",
                             pc.if_else(known, pc.cast(rate, pa.int32()), flows.column("sampling_rate")))
    parsed.flows = flows
    return parsed


def nfdump_csv(key: str, data: bytes, nfdump: str) -> tuple[str, dict[int, int]]:
    """One nfcapd file's flows as nfdump's CSV text (UTC times: TZ=UTC), and its exporters'
    sampling rates. The bytes go to a temporary file on this node, which nfdump reads."""
    if not is_nfcapd(data):
        raise UnreadableObject(f"configured as nfcapd but does not start with nfcapd's magic "
                               f"0x{NFCAPD_MAGIC:04X} and layout version 1 or 2 (first bytes {data[:4].hex()})")
    with tempfile.NamedTemporaryFile(prefix="flowlake-", suffix=".nfcapd") as file:
        file.write(data)
        file.flush()
        return (_nfdump(nfdump, key, file.name, "-o", "csv", "-r"),
                sampling_rates(_nfdump(nfdump, key, file.name, "-E")))
