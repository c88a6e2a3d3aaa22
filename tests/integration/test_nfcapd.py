"""nfcapd files straight from a collector's directory, through the bronze job on Spark.

Debian's nfcapd (tests/nfcapd_collector.py) receives NetFlow v5 (sampled one in ten) and v9
(IPv4 and IPv6) datagrams carrying exactly known flows and writes them uncompressed, LZ4, BZ2
and LZO. Beside them in the raw folder: a truncated copy, the same bytes archived under
another key, and a file nfcapd is still writing. One bronze run must hold exactly the flows
sent, quarantine the truncated file whole with nfdump's message, record the archived copy as
a duplicate delivery and skip the file in progress; a re-run adds nothing. A node without
nfdump is tested without Spark, in tests/unit/test_readers_nfcapd.py.

  .venv/bin/python -m pytest tests/integration/test_nfcapd.py
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from flowlake.bronze.ingest import run_bronze
from flowlake.config import load_config
from flowlake.progress import Progress
from tests.conftest import write_config
from tests.nfcapd_collector import Flow, collected, netflow_v5, netflow_v9

pytestmark = pytest.mark.integration
RUN_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(minute: int, second: int = 0) -> int:
    return int(datetime(2017, 7, 1, 0, minute, second, tzinfo=timezone.utc).timestamp())


V5_FLOWS = [Flow("175.45.176.10", "93.184.216.34", 40000, 443, 6, 1500, 10, at(1), at(2, 30), tcp_flags=0x1b),
            Flow("175.45.176.11", "1.1.1.1", 33000, 53, 17, 76, 1, at(3, 5), at(3, 5))]
V9_FLOWS = {"-y": [Flow("175.45.176.9", "8.8.8.8", 5353, 53, 17, 80, 1, at(3), at(3)),
                   Flow("2001:db8::1", "2001:4860:4860::8888", 51000, 443, 6, 123456, 99, at(0, 1), at(4, 59),
                        tcp_flags=0x1b)],
            "-j": [Flow("175.45.177.2", "203.0.113.7", 22, 61000, 6, 4_000_000_000, 2_800_000, at(0), at(4),
                        tcp_flags=0x1b),
                   Flow("193.32.160.7", "175.45.177.2", 40000, 61000, 6, 44, 1, at(1), at(1), tcp_flags=0x02)],
            "-z": [Flow("175.45.178.3", "198.51.100.1", 0, 0, 1, 84, 1, at(2), at(2))]}


def bronze(spark, config):
    return run_bronze(spark, config, RUN_TIME, Progress("test"))


def rows(spark, config, table: str, *columns: str) -> list[tuple]:
    frame = spark.read.format("delta").load(config.table_uri("bronze", table))
    return sorted(tuple(r) for r in frame.select(*columns).collect())


def naive(epoch: int) -> datetime:
    """Spark hands timestamps back as naive UTC (the session time zone)."""
    return datetime.fromtimestamp(epoch, timezone.utc).replace(tzinfo=None)


def test_a_collectors_nfcapd_files_land_in_bronze_exactly_once(spark, tmp_path):
    collector = tmp_path / "raw" / "collector"
    v5 = collected(collector / "router-v5", [netflow_v5(V5_FLOWS, sampling_interval=10)])[0]
    v9 = {flag: collected(collector / f"router-v9{flag}", [netflow_v9(flows)], flag)[0]
          for flag, flows in V9_FLOWS.items()}
    truncated = collector / "router-v9-y" / "nfcapd.201707010005"
    truncated.write_bytes(v9["-y"].read_bytes()[:-40])
    archived = tmp_path / "raw" / "rotated" / "nfcapd.201707010000"
    archived.parent.mkdir()
    shutil.copy(v5, archived)
    shutil.copy(v5, v5.with_name("nfcapd.current.4242"))  # nfcapd's file still being written

    config = load_config(write_config(tmp_path, bronze={"max_quarantine_rate": 0.5}))
    result = bronze(spark, config)
    # Seven files, the one in progress not listed; the rotated copy a duplicate, whose flows are
    # the original's alone (exporter collector/router-v5 below); the truncated file unreadable.
    assert (result.objects_seen, result.objects_new, result.duplicates, result.unreadable) == (6, 6, 1, 1)

    sent = [("collector/router-v5", f, 10) for f in V5_FLOWS] + [
        (f"collector/router-v9{flag}", f, None) for flag, flows in V9_FLOWS.items() for f in flows]
    assert rows(spark, config, "flows", "exporter", "src_ip", "dst_ip", "src_port", "dst_port", "protocol",
                "tcp_flags", "bytes", "packets", "ts", "ts_end", "sampling_rate") == sorted(
        (exporter, f.src_ip, f.dst_ip, f.src_port, f.dst_port, f.protocol, f.tcp_flags, f.bytes, f.packets,
         naive(f.start), naive(f.end), rate) for exporter, f, rate in sent)

    [(source_object, line_number, reason)] = rows(spark, config, "quarantine", "source_object", "line_number", "reason")
    assert source_object.endswith("router-v9-y/nfcapd.201707010005") and line_number is None
    assert reason.startswith("unreadable object: nfdump cannot read this nfcapd file: ")
    assert "collector/router-v9-y/nfcapd.201707010005" in reason and "flowlake-" not in reason

    again = bronze(spark, config)
    assert (again.objects_seen, again.objects_new, again.flow_rows) == (6, 0, 0)
