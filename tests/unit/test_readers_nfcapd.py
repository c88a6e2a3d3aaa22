"""Unit tests for the nfcapd reader (flowlake.readers.nfcapd, through parse_object): detection
by header, nfdump's conversion of files Debian's nfcapd wrote from known flows, sampling,
idle and truncated files, and a node that cannot run nfdump. No Spark.
"""

from __future__ import annotations

import gzip
import struct
from datetime import datetime, timezone

import pytest

from flowlake.bronze.ingest import (
    COLLECTOR_FILES_IN_PROGRESS, NODE_CANNOT_PARSE, NodeCannotParse, parse_content, stop_if_a_node_cannot_parse,
)
from flowlake.config import Source, load_config
from flowlake.readers.delimited import NFDUMP_V1
from flowlake.readers.nfcapd import NFCAPD_MAGIC, NfdumpMissing, is_nfcapd, sampling_rates
from flowlake.readers.objects import parse_object
from flowlake.readers.records import UnreadableObject
from tests.conftest import write_config
from tests.nfcapd_collector import Flow, collected, netflow_v5

UTC = timezone.utc
START = int(datetime(2017, 7, 1, 0, 1, tzinfo=UTC).timestamp())
SENT = [Flow("175.45.176.10", "93.184.216.34", 40000, 443, 6, 1500, 10, START, START + 90),
        Flow("175.45.176.11", "1.1.1.1", 33000, 53, 17, 76, 1, START + 5, START + 5)]


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, bytes]:
    """Files Debian's nfcapd wrote: SENT sampled one in ten (v5), and an idle interval."""
    folder = tmp_path_factory.mktemp("nfcapd")
    return {"sampled": collected(folder / "sampled", [netflow_v5(SENT, sampling_interval=10)])[0].read_bytes(),
            "idle": collected(folder / "idle", [])[0].read_bytes()}


def parse(content: bytes, format: str = "auto", nfdump: str = "nfdump", sampling_rate: int | None = None):
    source = Source(prefix="", format=format, sampling_rate=sampling_rate)
    return parse_object("collector/router-1/nfcapd.201707010000", content, source, "collector/router-1", 2, nfdump)


def test_both_layouts_are_told_by_their_header_whatever_compresses_the_blocks(written):
    # nfdump 1.6's file_header_t: magic, version 1, flags (LZO 0x1, BZ2 0x8, LZ4 0x10), blocks, ident.
    layout_1 = [struct.pack("<HHII128s", NFCAPD_MAGIC, 1, flags, 3, b"router") for flags in (0, 0x1, 0x8, 0x10)]
    # nfdump 1.7's fileHeaderV2_t: magic, version 2, nfdump version, created, compression (none,
    # LZO, BZ2, LZ4, ZSTD), encryption, appendix blocks, unused, appendix offset, block size, blocks.
    layout_2 = [struct.pack("<HHIQBBHIqII", NFCAPD_MAGIC, 2, 0x1070100, 0, c, 0, 1, 0, 500, 5 << 20, 1)
                for c in range(5)]
    assert all(is_nfcapd(header) for header in layout_1 + layout_2 + [written["sampled"]])
    assert written["sampled"][16] == 0  # the compression byte of an uncompressed layout 2 file
    assert not any(is_nfcapd(other) for other in (
        b"ts,te,td,sa,da,sp", gzip.compress(written["sampled"]), struct.pack(">HH", NFCAPD_MAGIC, 2),
        struct.pack("<HH", NFCAPD_MAGIC, 3), b"\x0c\xa5"))


def test_a_sampled_v5_file_gives_the_counts_sent_and_the_exporters_rate(written):
    parsed = parse(written["sampled"])
    assert (parsed.format, parsed.quarantine.num_rows, parsed.control_lines) == ("nfcapd", 0, 4)
    assert [(r["src_ip"], r["dst_ip"], r["src_port"], r["dst_port"], r["protocol"], r["bytes"], r["packets"],
             r["ts"], r["ts_end"], r["sampling_rate"], r["exporter"], r["line_number"])
            for r in parsed.flows.to_pylist()] == [
        (f.src_ip, f.dst_ip, f.src_port, f.dst_port, f.protocol, f.bytes, f.packets,
         datetime.fromtimestamp(f.start, UTC), datetime.fromtimestamp(f.end, UTC), 10, "collector/router-1", line)
        for line, f in enumerate(SENT, 2)]
    # An archive gzips what the collector wrote: the same flows.
    assert parse(gzip.compress(written["sampled"])).flows.equals(parsed.flows)


def test_an_idle_interval_has_no_flows_and_nothing_to_quarantine(written):
    parsed = parse(written["idle"])
    assert (parsed.format, parsed.flows.num_rows, parsed.quarantine.num_rows) == ("nfcapd", 0, 0)


def test_a_truncated_file_is_unreadable_in_nfdumps_words_naming_the_object(written):
    for cut in (40, 200):  # in the appendix nfdump 1.7 writes last, and in the data block before it
        with pytest.raises(UnreadableObject, match=r"^nfdump cannot read this nfcapd file: .*"
                                                   r"collector/router-1/nfcapd\.201707010000"):
            parse(written["sampled"][:-cut])


def test_records_nfdump_skips_with_a_warning_do_not_make_a_file_unreadable(written, tmp_path):
    # nfdump 1.7.1 reads nfdump 1.6 files whole but says "Skip unknown record type 9" (their
    # sampler-info records) on stderr, once per block; and it names protocols (IPIP is 4).
    row = {"ts": "2017-07-01 00:01:00", "te": "2017-07-01 00:01:02", "sa": "175.45.176.1", "da": "10.9.9.9",
           "sp": "0", "dp": "0", "pr": "IPIP", "ipkt": "3", "ibyt": "300", "exid": "1"}
    csv = "\n".join([",".join(NFDUMP_V1.header), ",".join(row.get(c, "0") for c in NFDUMP_V1.header)])
    nfdump = tmp_path / "nfdump-1.7.1-on-a-1.6-file"
    nfdump.write_text(f"#!/bin/sh\necho 'Skip unknown record type 9' >&2\necho 'Skip unknown record type 9' >&2\n"
                      f"if [ \"$1\" = -E ]; then echo 'Exporters:'; else printf '%s\\n' '{csv}'; fi\n")
    nfdump.chmod(0o755)
    parsed = parse(written["sampled"], nfdump=str(nfdump))
    assert parsed.quarantine.num_rows == 0
    assert [(r["protocol"], r["bytes"], r["sampling_rate"]) for r in parsed.flows.to_pylist()] == [(4, 300, None)]


def test_an_object_configured_as_nfcapd_must_start_like_one():
    with pytest.raises(UnreadableObject, match="configured as nfcapd but does not start with nfcapd's magic"):
        parse(b"ts,te,td,sa,da\n", format="nfcapd")


def test_without_nfdump_the_run_stops_naming_the_object_and_records_nothing(written, tmp_path):
    missing = load_config(write_config(tmp_path, bronze={"nfdump": str(tmp_path / "no-nfdump")})).bronze.nfdump
    with pytest.raises(NfdumpMissing, match=r"collector/router-1/nfcapd\.201707010000 is an nfcapd file"):
        parse(written["sampled"], nfdump=missing)
    raw = f"file://{tmp_path}/raw"
    objects = []
    for key in ("b/nfcapd.201707010005", "a/nfcapd.201707010000"):
        parsed, reason = parse_content(f"file:{tmp_path}/raw/{key}", written["sampled"], raw, (), 2, missing)
        assert parsed.flows.num_rows == 0 and reason.startswith(NODE_CANNOT_PARSE)
        objects.append({"source_object": f"file:{tmp_path}/raw/{key}", "unreadable_reason": reason})
    with pytest.raises(NodeCannotParse, match=r"^a/nfcapd\.201707010000 is an nfcapd file, and converting it needs "
                                              r"nfdump, which this Spark node cannot run \('.*/no-nfdump': No such "
                                              r"file or directory\)\. .*\(1 more objects likewise\) Nothing"):
        stop_if_a_node_cannot_parse(objects, raw)
    stop_if_a_node_cannot_parse([{"source_object": "x", "unreadable_reason": "unreadable object: junk"}], raw)


def test_sampling_rates_come_from_each_exporters_one_sampler():
    exporters = ("Exporters:\n\n"
                 "SysID: 1, IP:        127.0.0.1, version: 5, ID:  0, Sequence failures: 0, packets: 1, flows: 2\n"
                 "    Sampler: Generic Sampler: algorithm: 1, packet interval: 1, packet space: 99\n"
                 "SysID: 2, IP:        10.0.0.1, version: 9, ID:  7, Sequence failures: 0, packets: 1, flows: 2\n"
                 "SysID: 3, IP:        10.0.0.2, version: 9, ID:  8, Sequence failures: 0, packets: 1, flows: 2\n"
                 "    Sampler: id: 1, algorithm: 2, packet interval: 1, packet space: 511\n"
                 "    Sampler: id: 2, algorithm: 2, packet interval: 1, packet space: 1023\n")
    # SysID 2 has no sampler; SysID 3 two rates, and which applied to a flow is not in the CSV.
    assert sampling_rates(exporters) == {1: 100}
    assert sampling_rates("Exporters:\n\nNo Exporter records found\n") == {}


def test_files_a_collector_is_still_writing_are_not_listed():
    import re

    assert re.search(COLLECTOR_FILES_IN_PROGRESS, "file:/raw/router-1/nfcapd.current.4242")
    assert not re.search(COLLECTOR_FILES_IN_PROGRESS, "file:/raw/router-1/nfcapd.201707010000")
    assert not re.search(COLLECTOR_FILES_IN_PROGRESS, "file:/raw/router-1/nfcapd.current.4242.csv")
