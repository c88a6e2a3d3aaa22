"""Unit tests for the pure pyarrow raw-format readers (flowlake.readers).

Every fixture is a few explicit lines written after the format's documented layout, and
every test compares the exact rows the reader returns.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
from datetime import date, datetime, timezone

import pytest

from flowlake.config import Source
from flowlake.readers.delimited import NFDUMP_V1, NFDUMP_V2
from flowlake.readers.objects import ObjectTooLarge, parse_object
from flowlake.readers.records import UnreadableObject

UTC = timezone.utc

NFDUMP_V1_HEADER = ",".join(NFDUMP_V1.header)
NFDUMP_V2_HEADER = ",".join(NFDUMP_V2.header)
NFDUMP_SUMMARY = ["Summary", "flows,bytes,packets,avg_bps,avg_pps,avg_bpp", "3,1480,10,0,0,148"]
VPC_HEADER = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol "
              "packets bytes start end action log-status")
ARGUS_HEADER = ("StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,"
                "TotPkts,TotBytes,SrcBytes,Label")

TIME_REASON = "ts: expected a time 'YYYY-MM-DD hh:mm:ss[.fff]', got "
COLUMN_COUNT_REASON = "expected 48 comma-separated columns as in the header, found "


# --- helpers ---------------------------------------------------------------------------

def nfdump_row(**used: str) -> str:
    """One nfdump <=1.7.4 CSV line: the given columns, every other column '0'."""
    unknown = set(used) - set(NFDUMP_V1.header)
    assert not unknown, f"not nfdump columns: {unknown}"
    return ",".join(used.get(column, "0") for column in NFDUMP_V1.header)


def text(*lines: str) -> bytes:
    """An object's bytes: the lines joined by newlines, with a final newline."""
    return ("\n".join(lines) + "\n").encode()


def parse(content: bytes, *, format: str = "auto", tz: str = "UTC", sampling_rate: int | None = None,
          exporter: str = "router-1"):
    source = Source(prefix="", format=format, timezone=tz, sampling_rate=sampling_rate)
    return parse_object("raw/test-object", content, source, exporter)


def quarantined(parsed) -> list[tuple[int, str]]:
    """(line_number, reason) of the quarantined lines, in line order."""
    return sorted((row["line_number"], row["reason"]) for row in parsed.quarantine.to_pylist())


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# A flow line with nothing wrong, to surround bad lines with in the quarantine tests.
GOOD_NFDUMP_ROW = nfdump_row(ts="2017-07-01 10:00:00", te="2017-07-01 10:00:01", sa="10.0.0.1",
                             da="10.0.0.2", sp="1000", dp="53", pr="UDP", ipkt="1", ibyt="60")


# --- nfdump <= 1.7.4 (48 columns) ------------------------------------------------------

NFDUMP_V1_OBJECT = text(
    NFDUMP_V1_HEADER,
    nfdump_row(ts="2017-07-01 10:00:00.123", te="2017-07-01 10:00:02.456", sa="192.168.1.10",
               da="8.8.8.8", sp="51234", dp="443", pr="TCP", flg=".AP.SF", ipkt="5", ibyt="700"),
    nfdump_row(ts="2017-07-01 10:00:03", te="2017-07-01 10:00:03", sa="192.168.1.11",
               da="192.168.1.1", sp="5353", dp="53", pr="17", ipkt="1", ibyt="80"),
    nfdump_row(ts="2017-07-01 23:59:59.999", te="2017-07-02 00:00:00.500", sa="2001:DB8:0:0::1",
               da="2001:db8:0:0:0:0:0:2", sp="40000", dp="22", pr="UDP", flg="", ipkt="4", ibyt="700"),
    *NFDUMP_SUMMARY,
)

NFDUMP_V1_FLOWS = [
    {"ts": utc(2017, 7, 1, 1, 30, 0, 123000), "ts_end": utc(2017, 7, 1, 1, 30, 2, 456000),
     "day": date(2017, 7, 1), "src_ip": "192.168.1.10", "dst_ip": "8.8.8.8",
     "src_port": 51234, "dst_port": 443, "protocol": 6, "tcp_flags": 27, "bytes": 700, "packets": 5,
     "sampling_rate": None, "exporter": "router-1", "line_number": 2},
    {"ts": utc(2017, 7, 1, 1, 30, 3), "ts_end": utc(2017, 7, 1, 1, 30, 3),
     "day": date(2017, 7, 1), "src_ip": "192.168.1.11", "dst_ip": "192.168.1.1",
     "src_port": 5353, "dst_port": 53, "protocol": 17, "tcp_flags": 0, "bytes": 80, "packets": 1,
     "sampling_rate": None, "exporter": "router-1", "line_number": 3},
    # 23:59:59.999 in Pyongyang (UTC+08:30) is 15:29:59.999 UTC, still 1 July.
    {"ts": utc(2017, 7, 1, 15, 29, 59, 999000), "ts_end": utc(2017, 7, 1, 15, 30, 0, 500000),
     "day": date(2017, 7, 1), "src_ip": "2001:db8::1", "dst_ip": "2001:db8::2",
     "src_port": 40000, "dst_port": 22, "protocol": 17, "tcp_flags": None, "bytes": 700, "packets": 4,
     "sampling_rate": None, "exporter": "router-1", "line_number": 4},
]


def test_nfdump_v1_rows_have_local_time_converted_to_utc():
    parsed = parse(NFDUMP_V1_OBJECT, tz="Asia/Pyongyang")

    assert parsed.format == "nfdump_csv"
    assert parsed.flows.to_pylist() == NFDUMP_V1_FLOWS


def test_nfdump_v1_protocol_names_and_numbers_become_numbers():
    parsed = parse(NFDUMP_V1_OBJECT, tz="Asia/Pyongyang")

    assert parsed.flows.column("protocol").to_pylist() == [6, 17, 17]


def test_nfdump_v1_ipv6_addresses_are_canonical_compressed_lowercase():
    parsed = parse(NFDUMP_V1_OBJECT, tz="Asia/Pyongyang")

    assert parsed.flows.column("src_ip").to_pylist()[2] == "2001:db8::1"
    assert parsed.flows.column("dst_ip").to_pylist()[2] == "2001:db8::2"


def test_nfdump_summary_trailer_counts_as_control_lines_not_quarantine():
    parsed = parse(NFDUMP_V1_OBJECT, tz="Asia/Pyongyang")

    assert parsed.quarantine.num_rows == 0
    assert parsed.control_lines == 1 + 3  # header + Summary trailer


def test_nfdump_gzip_content_gives_the_same_rows_as_plain_text():
    parsed = parse(gzip.compress(NFDUMP_V1_OBJECT), tz="Asia/Pyongyang")

    assert parsed.flows.to_pylist() == NFDUMP_V1_FLOWS
    assert parsed.control_lines == 4
    assert parsed.quarantine.num_rows == 0


def test_nfdump_multi_member_gzip_reads_every_member():
    lines = NFDUMP_V1_OBJECT.split(b"\n")
    first, second = b"\n".join(lines[:3]) + b"\n", b"\n".join(lines[3:])

    parsed = parse(gzip.compress(first) + gzip.compress(second), tz="Asia/Pyongyang")

    assert parsed.flows.to_pylist() == NFDUMP_V1_FLOWS


def test_nfdump_header_only_object_gives_no_flows_and_no_quarantine():
    parsed = parse(text(NFDUMP_V1_HEADER))

    assert parsed.format == "nfdump_csv"
    assert parsed.flows.num_rows == 0
    assert parsed.quarantine.num_rows == 0
    assert parsed.control_lines == 1


# --- nfdump >= 1.7.5 ---------------------------------------------------------------------

def test_nfdump_v2_ts_end_is_first_seen_plus_duration():
    parsed = parse(text(
        NFDUMP_V2_HEADER,
        "2024-03-01 12:00:00.250,1.500,TCP,10.1.1.1,50000,10.2.2.2,443,12,9000,1",
        "2024-03-01 12:00:05,0.000,17,10.1.1.3,53,10.2.2.4,5353,1,90,1",
        *NFDUMP_SUMMARY,
    ), tz="UTC")

    assert parsed.format == "nfdump_csv"
    assert parsed.flows.to_pylist() == [
        {"ts": utc(2024, 3, 1, 12, 0, 0, 250000), "ts_end": utc(2024, 3, 1, 12, 0, 1, 750000),
         "day": date(2024, 3, 1), "src_ip": "10.1.1.1", "dst_ip": "10.2.2.2",
         "src_port": 50000, "dst_port": 443, "protocol": 6, "tcp_flags": None, "bytes": 9000, "packets": 12,
         "sampling_rate": None, "exporter": "router-1", "line_number": 2},
        {"ts": utc(2024, 3, 1, 12, 0, 5), "ts_end": utc(2024, 3, 1, 12, 0, 5),
         "day": date(2024, 3, 1), "src_ip": "10.1.1.3", "dst_ip": "10.2.2.4",
         "src_port": 53, "dst_port": 5353, "protocol": 17, "tcp_flags": None, "bytes": 90, "packets": 1,
         "sampling_rate": None, "exporter": "router-1", "line_number": 3},
    ]
    assert parsed.quarantine.num_rows == 0
    assert parsed.control_lines == 4


def test_nfdump_v2_fractional_duration_that_is_inexact_in_binary_still_parses():
    parsed = parse(text(NFDUMP_V2_HEADER, "2024-03-01 12:00:00,1.001,TCP,10.1.1.1,50000,10.2.2.2,443,2,120,1"))

    assert parsed.flows.column("ts_end").to_pylist() == [utc(2024, 3, 1, 12, 0, 1, 1000)]
    assert parsed.quarantine.num_rows == 0


# --- AWS VPC flow logs v2 ------------------------------------------------------------

def test_vpc_flow_log_rows_use_interface_id_as_exporter_and_epoch_seconds():
    parsed = parse(text(
        VPC_HEADER,
        "2 123456789012 eni-0a1b2c3d 10.0.1.5 172.31.16.139 49152 443 6 20 4249 1498867200 1498867260 ACCEPT OK",
        "2 123456789012 eni-0a1b2c3d - - - - - - - 1498867200 1498867260 - NODATA",
        "2 123456789012 eni-9f8e7d6c 10.0.2.7 10.0.1.5 53 33000 17 1 120 1498867230 1498867290 REJECT OK",
        "2 123456789012 eni-9f8e7d6c - - - - - - - 1498867200 1498867260 - SKIPDATA",
    ), exporter="folder-name")

    assert parsed.format == "vpc_flow_log"
    assert parsed.flows.to_pylist() == [
        {"ts": utc(2017, 7, 1, 0, 0, 0), "ts_end": utc(2017, 7, 1, 0, 1, 0),
         "day": date(2017, 7, 1), "src_ip": "10.0.1.5", "dst_ip": "172.31.16.139",
         "src_port": 49152, "dst_port": 443, "protocol": 6, "tcp_flags": None, "bytes": 4249, "packets": 20,
         "sampling_rate": None, "exporter": "eni-0a1b2c3d", "line_number": 2},
        {"ts": utc(2017, 7, 1, 0, 0, 30), "ts_end": utc(2017, 7, 1, 0, 1, 30),
         "day": date(2017, 7, 1), "src_ip": "10.0.2.7", "dst_ip": "10.0.1.5",
         "src_port": 53, "dst_port": 33000, "protocol": 17, "tcp_flags": None, "bytes": 120, "packets": 1,
         "sampling_rate": None, "exporter": "eni-9f8e7d6c", "line_number": 4},
    ]


def test_vpc_nodata_and_skipdata_records_are_control_lines_not_quarantine():
    parsed = parse(text(
        VPC_HEADER,
        "2 123456789012 eni-0a1b2c3d - - - - - - - 1498867200 1498867260 - NODATA",
        "2 123456789012 eni-0a1b2c3d - - - - - - - 1498867260 1498867320 - SKIPDATA",
    ))

    assert parsed.flows.num_rows == 0
    assert parsed.quarantine.num_rows == 0
    assert parsed.control_lines == 1 + 2  # header + NODATA + SKIPDATA


def test_vpc_flow_log_without_header_is_detected_from_its_first_record():
    parsed = parse(text(
        "2 123456789012 eni-0a1b2c3d 10.0.1.5 172.31.16.139 49152 443 6 20 4249 1498867200 1498867260 ACCEPT OK",
    ))

    assert parsed.format == "vpc_flow_log"
    assert parsed.flows.column("line_number").to_pylist() == [1]
    assert parsed.control_lines == 0


# --- Argus binetflow -----------------------------------------------------------------

def test_argus_rows_have_prague_summer_time_converted_and_hex_icmp_ports_decoded():
    parsed = parse(text(
        ARGUS_HEADER,
        "2011/08/10 09:46:53.047277,3550.182373,udp,212.50.71.179,39678,  <->,147.32.84.229,13363,"
        "CON,0,0,12,875,413,flow=Background-UDP-Established",
        "2011/08/10 09:46:55.000000,0.000000,icmp,147.32.84.165,0x0008,   ->,147.32.80.9,0x0000,"
        "ECO,0,,1,98,98,flow=From-Botnet-V42-ICMP",
    ), tz="Europe/Prague")

    assert parsed.format == "argus"
    assert parsed.flows.to_pylist() == [
        {"ts": utc(2011, 8, 10, 7, 46, 53, 47277), "ts_end": utc(2011, 8, 10, 8, 46, 3, 229650),
         "day": date(2011, 8, 10), "src_ip": "212.50.71.179", "dst_ip": "147.32.84.229",
         "src_port": 39678, "dst_port": 13363, "protocol": 17, "tcp_flags": None, "bytes": 875, "packets": 12,
         "sampling_rate": None, "exporter": "router-1", "line_number": 2},
        {"ts": utc(2011, 8, 10, 7, 46, 55), "ts_end": utc(2011, 8, 10, 7, 46, 55),
         "day": date(2011, 8, 10), "src_ip": "147.32.84.165", "dst_ip": "147.32.80.9",
         "src_port": 8, "dst_port": 0, "protocol": 1, "tcp_flags": None, "bytes": 98, "packets": 1,
         "sampling_rate": None, "exporter": "router-1", "line_number": 3},
    ]
    assert parsed.quarantine.num_rows == 0
    assert parsed.control_lines == 1


def test_argus_empty_ports_are_allowed_and_land_as_null():
    parsed = parse(text(
        ARGUS_HEADER,
        "2011/08/10 09:46:53.000000,1.500000,esp,147.32.84.229,,  <->,147.32.80.9,,INT,0,0,2,200,100,flow=Background",
    ), tz="Europe/Prague")

    assert parsed.quarantine.to_pylist() == []
    assert parsed.flows.to_pylist() == [
        {"ts": utc(2011, 8, 10, 7, 46, 53), "ts_end": utc(2011, 8, 10, 7, 46, 54, 500000),
         "day": date(2011, 8, 10), "src_ip": "147.32.84.229", "dst_ip": "147.32.80.9",
         "src_port": None, "dst_port": None, "protocol": 50, "tcp_flags": None, "bytes": 200, "packets": 2,
         "sampling_rate": None, "exporter": "router-1", "line_number": 2},
    ]


def test_argus_fractional_duration_that_is_inexact_in_binary_still_parses():
    parsed = parse(text(
        ARGUS_HEADER,
        "2011/08/10 09:46:53.000000,1.001000,tcp,147.32.84.229,1025,   ->,147.32.80.9,80,"
        "FSPA_FSPA,0,0,6,600,300,flow=Background-TCP-Established",
    ), tz="Europe/Prague")

    assert parsed.flows.column("ts_end").to_pylist() == [utc(2011, 8, 10, 7, 46, 54, 1000)]


# --- GoFlow2 JSON lines --------------------------------------------------------------

def goflow2_line(**fields) -> str:
    record = {
        "type": "NETFLOW_V9", "time_received_ns": 1498867300000000000, "sequence_num": 7,
        "time_flow_start_ns": 1498867200000000000, "time_flow_end_ns": 1498867201500000000,
        "src_addr": "10.0.0.1", "dst_addr": "10.0.0.2", "src_port": 40000, "dst_port": 443,
        "proto": "TCP", "bytes": 1500, "packets": 3, "sampler_address": "192.0.2.1",
        "sampling_rate": 0,
    }
    record.update(fields)
    return json.dumps(record)


def test_goflow2_rows_take_exporter_from_sampler_address():
    parsed = parse(text(
        goflow2_line(),
        goflow2_line(src_addr="2001:DB8::A", dst_addr="2001:db8:0:0:0:0:0:b", proto="UDP",
                     src_port=53, dst_port=5353, bytes=90, packets=1, sampler_address="192.0.2.2"),
    ), sampling_rate=None)

    assert parsed.format == "goflow2_json"
    assert parsed.flows.to_pylist() == [
        {"ts": utc(2017, 7, 1, 0, 0, 0), "ts_end": utc(2017, 7, 1, 0, 0, 1, 500000),
         "day": date(2017, 7, 1), "src_ip": "10.0.0.1", "dst_ip": "10.0.0.2",
         "src_port": 40000, "dst_port": 443, "protocol": 6, "tcp_flags": None, "bytes": 1500, "packets": 3,
         "sampling_rate": None, "exporter": "192.0.2.1", "line_number": 1},
        {"ts": utc(2017, 7, 1, 0, 0, 0), "ts_end": utc(2017, 7, 1, 0, 0, 1, 500000),
         "day": date(2017, 7, 1), "src_ip": "2001:db8::a", "dst_ip": "2001:db8::b",
         "src_port": 53, "dst_port": 5353, "protocol": 17, "tcp_flags": None, "bytes": 90, "packets": 1,
         "sampling_rate": None, "exporter": "192.0.2.2", "line_number": 2},
    ]
    assert parsed.quarantine.num_rows == 0


def test_goflow2_without_sampler_address_uses_the_objects_exporter():
    line = json.loads(goflow2_line())
    del line["sampler_address"]

    parsed = parse(text(json.dumps(line)), exporter="goflow-folder")

    assert parsed.flows.column("exporter").to_pylist() == ["goflow-folder"]


def test_goflow2_sampling_rate_zero_falls_back_to_config_and_positive_is_kept():
    parsed = parse(text(
        goflow2_line(sampling_rate=0),
        goflow2_line(sampling_rate=512),
    ), sampling_rate=100)

    assert parsed.flows.column("sampling_rate").to_pylist() == [100, 512]


def test_goflow2_protocol_as_name_or_number_in_the_same_file():
    parsed = parse(text(
        goflow2_line(proto="TCP"),
        goflow2_line(proto=6),
        goflow2_line(proto=17),
    ))

    assert parsed.flows.column("protocol").to_pylist() == [6, 6, 17]
    assert parsed.quarantine.num_rows == 0


def test_goflow2_broken_json_line_is_quarantined_alone_and_other_lines_land():
    broken = '{"time_flow_start_ns": 1498867200000000000, "src_addr": "10.0.0.9", "dst_'
    parsed = parse(text(
        goflow2_line(bytes=100),
        goflow2_line(bytes=200),
        broken,
        goflow2_line(bytes=400),
    ))

    assert parsed.flows.column("bytes").to_pylist() == [100, 200, 400]
    assert parsed.flows.column("line_number").to_pylist() == [1, 2, 4]
    [row] = parsed.quarantine.to_pylist()
    assert row["line_number"] == 3
    assert row["raw_line"] == broken
    assert row["reason"].startswith("not valid JSON")


def test_goflow2_flow_ending_before_it_starts_is_quarantined():
    parsed = parse(text(
        goflow2_line(),
        goflow2_line(time_flow_end_ns=1498867100000000000),
    ))

    assert parsed.flows.column("line_number").to_pylist() == [1]
    assert quarantined(parsed) == [(2, "ts_end: the record ends before it starts")]


def sflow_line(received_ns: int, **fields) -> str:
    """A GoFlow2 sFlow sample: stamped with its receive time, to the nanosecond."""
    sample = {"type": "SFLOW_5", "time_received_ns": received_ns, "time_flow_start_ns": received_ns,
              "time_flow_end_ns": received_ns, "sampling_rate": 512}
    return goflow2_line(**{**sample, **fields})


def test_goflow2_sflow_nanosecond_times_are_truncated_to_microseconds_and_every_flow_lands():
    parsed = parse(text(
        sflow_line(1499990400123456789),
        sflow_line(1499990400999999999, bytes=64),
        sflow_line(1499990401000000999, proto=17),
    ), sampling_rate=None)

    assert parsed.flows.select(["ts", "ts_end", "sampling_rate", "bytes", "protocol", "line_number"]).to_pylist() == [
        {"ts": utc(2017, 7, 14, 0, 0, 0, 123456), "ts_end": utc(2017, 7, 14, 0, 0, 0, 123456),
         "sampling_rate": 512, "bytes": 1500, "protocol": 6, "line_number": 1},
        {"ts": utc(2017, 7, 14, 0, 0, 0, 999999), "ts_end": utc(2017, 7, 14, 0, 0, 0, 999999),
         "sampling_rate": 512, "bytes": 64, "protocol": 6, "line_number": 2},
        {"ts": utc(2017, 7, 14, 0, 0, 1), "ts_end": utc(2017, 7, 14, 0, 0, 1),
         "sampling_rate": 512, "bytes": 1500, "protocol": 17, "line_number": 3},
    ]
    assert parsed.quarantine.num_rows == 0


def test_goflow2_time_out_of_range_quarantines_only_its_line():
    parsed = parse(text(
        sflow_line(1499990400123456789),
        sflow_line(1499990400123456789, time_flow_start_ns=4102444800000000001),  # past 2100
        sflow_line(1499990400123456789, time_flow_end_ns=10**19),                   # past int64
        sflow_line(1499990400123456789),
    ))

    assert parsed.flows.column("line_number").to_pylist() == [1, 4]
    assert quarantined(parsed) == [
        (2, "ts: expected nanoseconds since 1970 (a year 1990..2100), got '4102444800000000001'"),
        (3, "ts_end: expected nanoseconds since 1970 (a year 1990..2100), got '10000000000000000000'")]


# --- passive DNS, Common Output Format -------------------------------------------------

def test_pdns_names_are_lowercased_and_lose_the_trailing_dot():
    parsed = parse(text(
        json.dumps({"rrname": "WWW.Example.COM.", "rrtype": "a", "rdata": "93.184.216.34",
                    "time_first": 1498867200, "time_last": 1498953600, "count": 42}),
    ))

    assert parsed.format == "pdns_cof"
    assert parsed.dns.to_pylist() == [
        {"rrname": "www.example.com", "rrtype": "A", "rdata": "93.184.216.34",
         "time_first": utc(2017, 7, 1), "time_last": utc(2017, 7, 2), "count": 42,
         "day": date(2017, 7, 1), "line_number": 1},
    ]
    assert parsed.flows.num_rows == 0
    assert parsed.quarantine.num_rows == 0


def test_pdns_rdata_list_gives_one_row_per_element_with_the_same_line_number():
    parsed = parse(text(
        json.dumps({"rrname": "example.org.", "rrtype": "A", "rdata": "192.0.2.1",
                    "time_first": 1498867200, "time_last": 1498867200, "count": 1}),
        json.dumps({"rrname": "example.net.", "rrtype": "NS", "rdata": ["NS1.Example.NET.", "ns2.example.net."],
                    "time_first": 1498867200, "time_last": 1498870800, "count": 7}),
    ))

    assert parsed.dns.to_pylist() == [
        {"rrname": "example.org", "rrtype": "A", "rdata": "192.0.2.1",
         "time_first": utc(2017, 7, 1), "time_last": utc(2017, 7, 1), "count": 1,
         "day": date(2017, 7, 1), "line_number": 1},
        {"rrname": "example.net", "rrtype": "NS", "rdata": "ns1.example.net",
         "time_first": utc(2017, 7, 1), "time_last": utc(2017, 7, 1, 1), "count": 7,
         "day": date(2017, 7, 1), "line_number": 2},
        {"rrname": "example.net", "rrtype": "NS", "rdata": "ns2.example.net",
         "time_first": utc(2017, 7, 1), "time_last": utc(2017, 7, 1, 1), "count": 7,
         "day": date(2017, 7, 1), "line_number": 2},
    ]


def test_pdns_missing_count_defaults_to_one():
    parsed = parse(text(
        json.dumps({"rrname": "example.com.", "rrtype": "AAAA", "rdata": "2001:db8::1",
                    "time_first": 1498867200, "time_last": 1498867200}),
    ))

    assert parsed.dns.column("count").to_pylist() == [1]
    assert parsed.quarantine.num_rows == 0


# --- quarantine reasons and line numbers (nfdump <= 1.7.4) ----------------------------

def bad_nfdump_row(**changed: str) -> str:
    """GOOD_NFDUMP_ROW with some columns changed."""
    fields = dict(zip(NFDUMP_V1.header, GOOD_NFDUMP_ROW.split(",")))
    fields.update(changed)
    return nfdump_row(**fields)


def test_quarantine_wrong_column_count():
    parsed = parse(text(NFDUMP_V1_HEADER, GOOD_NFDUMP_ROW, "2017-07-01 10:00:00,oops"))

    assert quarantined(parsed) == [(3, COLUMN_COUNT_REASON + "2")]
    assert parsed.flows.column("line_number").to_pylist() == [2]


def test_quarantine_negative_bytes():
    parsed = parse(text(NFDUMP_V1_HEADER, bad_nfdump_row(ibyt="-5")))

    assert quarantined(parsed) == [(2, "bytes: expected a non-negative 64-bit integer, got '-5'")]
    assert parsed.flows.num_rows == 0


def test_quarantine_number_larger_than_int64():
    parsed = parse(text(NFDUMP_V1_HEADER, bad_nfdump_row(ipkt="9223372036854775808"),
                        bad_nfdump_row(ipkt="9223372036854775807")))

    assert quarantined(parsed) == [
        (2, "packets: expected a non-negative 64-bit integer, got '9223372036854775808'")]
    assert parsed.flows.column("packets").to_pylist() == [9223372036854775807]


def test_quarantine_bad_ipv4_address():
    parsed = parse(text(NFDUMP_V1_HEADER, bad_nfdump_row(sa="999.1.1.1")))

    assert quarantined(parsed) == [(2, "src_ip: expected an IPv4 or IPv6 address, got '999.1.1.1'")]


def test_quarantine_impossible_date_is_not_rolled_over():
    parsed = parse(text(NFDUMP_V1_HEADER,
                        bad_nfdump_row(ts="2017-02-30 10:00:00", te="2017-02-30 10:00:01")))

    assert quarantined(parsed) == [(2, TIME_REASON + "'2017-02-30 10:00:00'")]
    assert parsed.flows.num_rows == 0


def test_days_that_exist_in_some_months_only_are_checked_against_their_month():
    # Rows with day 29..31 or an out-of-range part are the ones strptime could roll over.
    times = ["2017-04-28 23:59:59", "2017-04-29 10:00:00", "2017-04-31 10:00:00", "2017-04-30 24:00:00",
             "2017-04-30 23:60:00", "2017-04-30 23:59:59.250"]
    leap_days = ["2016-02-29 10:00:00", "2017-02-29 10:00:00"]
    parsed = parse(text(NFDUMP_V1_HEADER, *[bad_nfdump_row(ts=t, te=t) for t in times]))
    leap = parse(text(NFDUMP_V1_HEADER, *[bad_nfdump_row(ts=t, te=t) for t in leap_days]))

    assert quarantined(parsed) == [(line, TIME_REASON + f"'{times[line - 2]}'") for line in (4, 5, 6)]
    assert parsed.flows.column("ts").to_pylist() == [
        utc(2017, 4, 28, 23, 59, 59), utc(2017, 4, 29, 10), utc(2017, 4, 30, 23, 59, 59, 250000)]
    assert quarantined(leap) == [(3, TIME_REASON + "'2017-02-29 10:00:00'")]
    assert leap.flows.column("ts").to_pylist() == [utc(2016, 2, 29, 10)]


def test_quarantine_reason_names_the_first_bad_field():
    parsed = parse(text(NFDUMP_V1_HEADER, bad_nfdump_row(sa="999.1.1.1", ibyt="-5", pr="XYZ")))

    assert quarantined(parsed) == [(2, "src_ip: expected an IPv4 or IPv6 address, got '999.1.1.1'")]


def test_quarantine_binary_junk_line_is_kept_visible():
    content = text(NFDUMP_V1_HEADER, GOOD_NFDUMP_ROW)[:-1] + b"\n\xff\xfe\x00\x81junk\n" + text(GOOD_NFDUMP_ROW)

    parsed = parse(content)

    [row] = parsed.quarantine.to_pylist()
    assert row["line_number"] == 3
    assert row["reason"] == COLUMN_COUNT_REASON + "1"
    assert "\ufffd" in row["raw_line"] and "junk" in row["raw_line"]
    assert parsed.flows.column("line_number").to_pylist() == [2, 4]


def test_same_header_repeated_mid_file_is_a_control_line():
    parsed = parse(text(NFDUMP_V1_HEADER, GOOD_NFDUMP_ROW, NFDUMP_V1_HEADER, GOOD_NFDUMP_ROW))

    assert quarantined(parsed) == []
    assert parsed.flows.column("line_number").to_pylist() == [2, 4]
    assert parsed.control_lines == 2


def test_different_header_mid_file_is_quarantined():
    other_header = NFDUMP_V1_HEADER.replace("ts,te,td", "ts,te,duration")
    parsed = parse(text(NFDUMP_V1_HEADER, GOOD_NFDUMP_ROW, other_header, GOOD_NFDUMP_ROW))

    assert quarantined(parsed) == [(3, TIME_REASON + "'ts'")]
    assert parsed.flows.column("line_number").to_pylist() == [2, 4]


def test_concatenated_nfdump_outputs_keep_every_flow():
    one_output = text(NFDUMP_V1_HEADER, GOOD_NFDUMP_ROW, "Summary",
                      "flows,bytes,packets,avg_bps,avg_pps,avg_bpp", "1,100,1,0,0,100")
    parsed = parse(one_output + one_output)

    assert parsed.flows.column("line_number").to_pylist() == [2, 7]
    assert quarantined(parsed) == []
    assert parsed.control_lines == 1 + 3 + 1 + 3


def test_blank_lines_are_skipped_as_control_and_keep_later_line_numbers_right():
    parsed = parse(text(NFDUMP_V1_HEADER, "", GOOD_NFDUMP_ROW, "   ", "", bad_nfdump_row(ibyt="-1"),
                        GOOD_NFDUMP_ROW))

    assert parsed.flows.column("line_number").to_pylist() == [3, 7]
    assert quarantined(parsed) == [(6, "bytes: expected a non-negative 64-bit integer, got '-1'")]
    assert parsed.control_lines == 1 + 3  # header + three blank lines


def test_quarantine_flow_ending_before_it_starts():
    parsed = parse(text(NFDUMP_V1_HEADER,
                        bad_nfdump_row(ts="2017-07-01 10:00:05", te="2017-07-01 10:00:04.999")))

    assert quarantined(parsed) == [(2, "ts_end: the record ends before it starts")]


def test_quarantine_keeps_the_raw_line():
    bad = bad_nfdump_row(sa="999.1.1.1")

    parsed = parse(text(NFDUMP_V1_HEADER, bad))

    assert parsed.quarantine.column("raw_line").to_pylist() == [bad]


# --- objects that cannot be read at all --------------------------------------------

def test_truncated_gzip_is_unreadable():
    content = gzip.compress(NFDUMP_V1_OBJECT * 20)[:-20]

    with pytest.raises(UnreadableObject, match="truncated gzip"):
        parse(content)


MIB = 2**20


def bomb(expanded_mib: int) -> bytes:
    """A gzip of an nfdump header and `expanded_mib` MiB of zeros (about 1000 times smaller)."""
    return gzip.compress(NFDUMP_V1_HEADER.encode() + b"\n" + bytes(expanded_mib * MIB), compresslevel=9)


def test_a_gzip_bomb_is_unreadable_and_reading_stops_at_the_bound():
    content = bomb(16)
    source = Source(prefix="", format="auto")
    tracemalloc.start()
    try:
        with pytest.raises(ObjectTooLarge) as raised:
            parse_object("flows/x/bomb.csv.gz", content, source, "flows/x", max_decompressed_bytes=MIB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(content) < MIB // 8
    assert str(raised.value).startswith("flows/x/bomb.csv.gz: decompresses to more than the bound of 1,048,576 bytes")
    assert str(raised.value).endswith("(bronze.max_decompressed_mib)")
    # What it expands to is 16 MiB: the reader held the bound and a margin, never the whole.
    assert peak < 4 * MIB, peak


def test_the_bound_counts_every_gzip_member_and_the_bytes_of_a_plain_object():
    source = Source(prefix="", format="auto")
    # Each member within the bound, all of them past it.
    members = gzip.compress(NFDUMP_V1_OBJECT) * (2**16 // len(NFDUMP_V1_OBJECT) + 1)
    with pytest.raises(ObjectTooLarge, match="more than the bound of 65,536"):
        parse_object("k", members, source, "x", max_decompressed_bytes=2**16)
    with pytest.raises(ObjectTooLarge, match=f"{len(NFDUMP_V1_OBJECT):,} bytes, more than the bound of 100"):
        parse_object("k", NFDUMP_V1_OBJECT, source, "x", max_decompressed_bytes=100)
    # Exactly at the bound is within it.
    exact = parse_object("k", gzip.compress(NFDUMP_V1_OBJECT), source, "x",
                         max_decompressed_bytes=len(NFDUMP_V1_OBJECT))
    assert exact.flows.num_rows == parse(NFDUMP_V1_OBJECT).flows.num_rows > 0


@pytest.mark.parametrize("content", [b"", b"\n\n  \r\n", gzip.compress(b"")], ids=["empty", "blank", "empty-gzip"])
def test_empty_object_is_unreadable(content):
    with pytest.raises(UnreadableObject, match="empty object"):
        parse(content)


def test_unknown_first_line_is_unreadable():
    with pytest.raises(UnreadableObject, match="unknown format"):
        parse(text("date,source,destination,bytes", "2017-07-01,10.0.0.1,10.0.0.2,100"))


def test_configured_nfdump_format_with_another_header_is_unreadable():
    content = text(ARGUS_HEADER, "2011/08/10 09:46:53.047277,1.5,udp,10.0.0.1,1,  <->,10.0.0.2,2,CON,0,0,1,1,1,x")

    with pytest.raises(UnreadableObject, match="configured as nfdump_csv"):
        parse(content, format="nfdump_csv")


def test_record_far_from_its_dumps_window_is_quarantined():
    parsed = parse(text(NFDUMP_V1_HEADER,
                        bad_nfdump_row(ts="2017-07-01 10:00:00", te="2017-07-01 10:00:01"),
                        bad_nfdump_row(ts="2017-07-02 10:00:00", te="2017-07-02 10:00:01"),
                        bad_nfdump_row(ts="2031-07-01 10:00:00", te="2031-07-01 10:00:01")))

    assert parsed.flows.column("line_number").to_pylist() == [2, 3]
    assert quarantined(parsed) == [
        (4, "ts: 2031-07-01 10:00:00.000000Z is 5112 days from the dump's median day 2017-07-02; "
            "the limit is 2 (bronze.max_days_from_dump)")]


def test_pdns_record_ending_before_it_starts_is_quarantined():
    line = '{"rrname": "a.example.", "rrtype": "A", "rdata": "192.0.2.1", "time_first": 1498867300, "time_last": 1498867200}'
    parsed = parse(text(line))

    assert parsed.dns.num_rows == 0
    assert quarantined(parsed) == [(1, "time_last: the record ends before it starts")]


def test_pdns_address_records_are_canonical_and_must_hold_an_address():
    lines = [
        '{"rrname": "v6.example.", "rrtype": "AAAA", "rdata": "2001:DB8:0::1", "time_first": 1498867200, "time_last": 1498867300}',
        '{"rrname": "bad.example.", "rrtype": "A", "rdata": "not-an-ip", "time_first": 1498867200, "time_last": 1498867300}',
        '{"rrname": "alias.example.", "rrtype": "CNAME", "rdata": "Target.Example.", "time_first": 1498867200, "time_last": 1498867300}',
    ]
    parsed = parse(text(*lines))

    assert parsed.dns.column("rdata").to_pylist() == ["2001:db8::1", "target.example"]
    assert quarantined(parsed) == [
        (2, "rdata: expected an IPv4 or IPv6 address in an A/AAAA record, got 'not-an-ip'")]


# --- cases the property-based tests found (tests/unit/test_readers_bad_input.py) ---------

def test_duration_of_centuries_is_quarantined_instead_of_ending_past_year_9999():
    parsed = parse(text(NFDUMP_V2_HEADER, "2017-07-01 10:00:00,999999999999,TCP,10.0.0.1,1,10.0.0.2,2,1,60,1",
                        "2017-07-01 10:00:00,1.5,TCP,10.0.0.1,1,10.0.0.2,2,1,60,1"))

    assert parsed.flows.column("line_number").to_pylist() == [3]
    assert quarantined(parsed) == [
        (2, "ts_end: the record ends 11574074 days from the dump's median day 2017-07-01; the limit is 2 "
            "(bronze.max_days_from_dump)")]


def test_argus_hex_port_is_read_only_in_plain_0x_form():
    parsed = parse(text(ARGUS_HEADER, "2017/07/01 10:00:00,1,icmp,10.0.0.1,0x_8,  <->,10.0.0.2,0x0008,CON,0,0,1,1,1,x",
                        "2017/07/01 10:00:00,1,icmp,10.0.0.1,0x0008,  <->,10.0.0.2,0x000B,CON,0,0,1,1,1,x"))

    assert parsed.flows.select(["line_number", "src_port", "dst_port"]).to_pylist() == [
        {"line_number": 3, "src_port": 8, "dst_port": 11}]
    assert quarantined(parsed) == [(2, "src_port: expected a port number 0..65535 (or 0x hex), got '0x_8'")]


def test_ipv6_address_with_a_zone_is_quarantined():
    parsed = parse(text(NFDUMP_V1_HEADER, bad_nfdump_row(sa="fe80::1%eth0")))

    assert quarantined(parsed) == [(2, "src_ip: expected an IPv4 or IPv6 address, got 'fe80::1%eth0'")]


def test_goflow2_line_is_judged_the_same_whatever_the_other_lines_of_its_file():
    # pyarrow's one-pass reader would print 5.0 as "5" and turn a date-like text into a
    # timestamp; a broken line elsewhere sends the file line by line, where neither happens.
    float_bytes = goflow2_line(bytes=5.0, sampler_address="2017-07-01")
    alone, beside_broken = parse(text(float_bytes, goflow2_line())), parse(text(float_bytes, goflow2_line(), "{oops"))

    for parsed in (alone, beside_broken):
        assert parsed.flows.column("line_number").to_pylist() == [2]
        assert quarantined(parsed)[0] == (1, "bytes: expected a non-negative 64-bit integer, got '5.0'")
    dated = parse(text(goflow2_line(sampler_address="2017-07-01")))
    assert dated.flows.column("exporter").to_pylist() == ["2017-07-01"]


def test_pdns_bad_line_with_an_rdata_list_is_quarantined_once():
    line = '{"rrname": "", "rrtype": "NS", "rdata": ["a.example.", "b.example."], "time_first": 1498867200, "time_last": 1498867300}'
    parsed = parse(text(line))

    assert parsed.dns.num_rows == 0
    assert quarantined(parsed) == [(1, "rrname: expected non-empty text, got ''")]


# --- TCP flags ----------------------------------------------------------------------------

def test_nfdump_flags_are_read_as_letters_of_either_width_hex_or_number_and_a_bad_one_is_quarantined():
    rows = [nfdump_row(ts="2017-07-01 10:00:00", te="2017-07-01 10:00:01", sa="10.0.0.1", da="10.0.0.2",
                       sp="40000", dp="60000", pr="TCP", flg=flags, ipkt="1", ibyt="60")
            for flags in ("....S.", "...A.R..", "  0xc2", "18", "S?")]
    parsed = parse(text(NFDUMP_V1_HEADER, *rows))

    assert parsed.flows.column("tcp_flags").to_pylist() == [2, 20, 194, 18]
    assert quarantined(parsed) == [
        (6, "tcp_flags: expected TCP flags: a number 0..255, 0x hex or flag letters such as '.AP.SF', got 'S?'")]


def test_argus_state_gives_the_sources_flags_and_other_states_no_flags_without_error():
    parsed = parse(text(
        ARGUS_HEADER,
        *(f"2011/08/10 09:46:53.000000,1.0,{proto},147.32.84.229,1025,   ->,147.32.80.9,80,{state},0,0,2,200,100,x"
          for proto, state in (("tcp", "S_RA"), ("tcp", "FSPA_FSPA"), ("tcp", "RST"), ("udp", "CON"), ("udp", "")))),
        tz="Europe/Prague")

    assert parsed.flows.column("tcp_flags").to_pylist() == [2, 27, None, None, None]
    assert parsed.quarantine.num_rows == 0


def test_goflow2_tcp_flags_are_taken_when_given():
    parsed = parse(text(goflow2_line(tcp_flags=2), goflow2_line()))

    assert parsed.flows.column("tcp_flags").to_pylist() == [2, None]
