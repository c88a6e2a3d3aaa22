"""Unit tests for flowlake.silver.hostnames: the name a remote address had at the flow's time."""

from __future__ import annotations

from datetime import date, datetime

from flowlake.silver.hostnames import dns_by_day, flows_with_dns_names

DNS_SCHEMA = "rrname string, rrtype string, rdata string, time_first timestamp, time_last timestamp"
FLOW_SCHEMA = "source_object string, line_number long, remote_ip string, day date, ts timestamp, bytes long"
IP, OTHER_IP = "93.184.216.34", "93.184.216.99"


def _order(row: dict):
    return [(k, str(row[k])) for k in sorted(row)]


def as_dicts(df) -> list[dict]:
    return sorted((r.asDict() for r in df.collect()), key=_order)


def at(hour, minute=0, second=0, day=1):
    return datetime(2026, 11, day, hour, minute, second)


def dns(spark, *records):
    """Records as (rrname, first, last), type A for IP, or (rrname, first, last, rrtype, rdata)."""
    rows = [(r[0], r[3] if len(r) > 3 else "A", r[4] if len(r) > 3 else IP, r[1], r[2]) for r in records]
    return spark.createDataFrame(rows, DNS_SCHEMA)


def hostnames(spark, flows, *records):
    """{line_number: candidate names} for flows given as (line, ts) to IP or (line, ts, remote_ip)."""
    rows = [("flows/a.csv", f[0], f[2] if len(f) > 2 else IP, f[1].date(), f[1], 100) for f in flows]
    named = flows_with_dns_names(spark.createDataFrame(rows, FLOW_SCHEMA), dns_by_day(dns(spark, *records)))
    result = {r.line_number: r.dns_candidates for r in named.collect()}
    assert {r.line_number: r.dns_names for r in named.collect()} == {k: len(v or []) for k, v in result.items()}
    return result


# --- dns_by_day -------------------------------------------------------------------------

def test_dns_by_day_lists_a_record_on_every_day_it_covers(spark):
    first, last = at(22, day=1), at(1, day=3)
    result = as_dicts(dns_by_day(dns(spark, ("www.example.com", first, last))))
    assert result == [{"remote_ip": IP, "rrname": "www.example.com", "time_first": first, "time_last": last,
                       "day": date(2026, 11, d)} for d in (1, 2, 3)]


def test_dns_by_day_keeps_a_and_aaaa_and_ignores_cname_and_other_types(spark):
    records = [("v4.example.com", at(10), at(11), "A", IP), ("v6.example.com", at(10), at(11), "AAAA", "2001:db8::1"),
               ("alias.example.com", at(10), at(11), "CNAME", "v4.example.com"),
               ("example.com", at(10), at(11), "NS", "ns1.example.net"),
               ("example.com", at(10), at(11), "TXT", IP)]
    result = as_dicts(dns_by_day(dns(spark, *records)).select("rrname", "remote_ip"))
    assert result == sorted([{"rrname": "v4.example.com", "remote_ip": IP},
                             {"rrname": "v6.example.com", "remote_ip": "2001:db8::1"}], key=_order)


# --- flows_with_dns_names ---------------------------------------------------------------

def test_validity_window_includes_both_ends(spark):
    assert hostnames(spark, [(1, at(10)), (2, at(12))], ("www.example.com", at(10), at(12))) == {
        1: ["www.example.com"], 2: ["www.example.com"]}


def test_flow_outside_every_window_gets_no_hostname(spark):
    assert hostnames(spark, [(1, at(9, 59, 59)), (2, at(12, 0, 1))], ("www.example.com", at(10), at(12))) == {
        1: None, 2: None}


def test_record_names_flows_on_every_day_of_its_window(spark):
    flows = [(1, at(12, day=2)), (2, at(0, 30, day=3))]
    assert hostnames(spark, flows, ("www.example.com", at(22, day=1), at(1, day=3))) == {
        1: ["www.example.com"], 2: ["www.example.com"]}


def test_every_valid_name_is_a_candidate_the_narrowest_window_first(spark):
    # the narrow record starts earlier and sorts later by name: only its width puts it first
    records = [("a-wide.example.com", at(10), at(20)), ("z-narrow.example.com", at(9), at(11))]
    assert hostnames(spark, [(1, at(10, 30))], *records) == {1: ["z-narrow.example.com", "a-wide.example.com"]}


def test_equal_windows_most_recent_time_first_comes_first(spark):
    records = [("a-old.example.com", at(9), at(11)), ("b-new.example.com", at(10), at(12))]
    assert hostnames(spark, [(1, at(10, 30))], *records) == {1: ["b-new.example.com", "a-old.example.com"]}


def test_full_tie_orders_candidates_by_name(spark):
    records = [("b.example.com", at(10), at(11)), ("a.example.com", at(10), at(11))]
    assert hostnames(spark, [(1, at(10, 30))], *records) == {1: ["a.example.com", "b.example.com"]}


def test_a_name_seen_in_two_records_is_one_candidate(spark):
    records = [("www.example.com", at(10), at(11)), ("www.example.com", at(9), at(12))]
    assert hostnames(spark, [(1, at(10, 30))], *records) == {1: ["www.example.com"]}


def test_records_for_another_address_are_ignored(spark):
    records = [("other.example.com", at(10), at(11), "A", OTHER_IP)]
    assert hostnames(spark, [(1, at(10, 30))], *records) == {1: None}


def test_flows_keep_their_rows_once_each_with_or_without_dns(spark):
    flows = spark.createDataFrame([("flows/a.csv", 1, IP, date(2026, 11, 1), at(10, 30), 100),
                                   ("flows/a.csv", 2, OTHER_IP, date(2026, 11, 1), at(10, 30), 200)], FLOW_SCHEMA)
    # two records name IP at that time: still one row for flow 1
    records = dns(spark, ("a.example.com", at(10), at(11)), ("b.example.com", at(9), at(12)))
    assert as_dicts(flows_with_dns_names(flows, dns_by_day(records))) == [
        {"source_object": "flows/a.csv", "line_number": 1, "remote_ip": IP, "day": date(2026, 11, 1),
         "ts": at(10, 30), "bytes": 100, "dns_candidates": ["a.example.com", "b.example.com"], "dns_names": 2},
        {"source_object": "flows/a.csv", "line_number": 2, "remote_ip": OTHER_IP, "day": date(2026, 11, 1),
         "ts": at(10, 30), "bytes": 200, "dns_candidates": None, "dns_names": 0}]
