"""Unit tests for flowlake.silver.dedup: the same flow reported more than once counts once."""

from __future__ import annotations

from datetime import date, datetime


from flowlake.silver.dedup import deduplicated_flows

# The columns of flowlake.silver.orient.oriented_flows, in its order.
ORIENTED_SCHEMA = ("range_name string, internal_ip string, internal_port int, remote_ip string, remote_port int, "
                   "direction string, direction_from string, record_from string, ts timestamp, ts_end timestamp, day date, protocol int, bytes long, "
                   "packets long, sampling_rate int, exporter string, source_object string, line_number long")
COLUMNS = [c.split()[0] for c in ORIENTED_SCHEMA.split(", ")]


def _order(row: dict):
    return [(k, str(row[k])) for k in sorted(row)]


def as_dicts(df) -> list[dict]:
    return sorted((r.asDict() for r in df.collect()), key=_order)


def oriented(line, direction="outbound", record_from="client", ts=datetime(2026, 11, 1, 10, 0, 0, 100000), bytes_=1500, remote_port=443,
             exporter="exp-1", source_object="flows/a.csv", internal=("175.45.176.10", 40000),
             remote_ip="93.184.216.34", range_name="kp", direction_from="ports"):
    return {"range_name": range_name, "internal_ip": internal[0], "internal_port": internal[1], "remote_ip": remote_ip,
            "remote_port": remote_port, "direction": direction, "direction_from": direction_from, "record_from": record_from, "ts": ts, "ts_end": ts.replace(second=30),
            "day": date(2026, 11, 1), "protocol": 6, "bytes": bytes_, "packets": 10, "sampling_rate": 1,
            "exporter": exporter, "source_object": source_object, "line_number": line}


def dedup(spark, *rows):
    df = spark.createDataFrame([tuple(r[c] for c in COLUMNS) for r in rows], ORIENTED_SCHEMA)
    return as_dicts(deduplicated_flows(df).drop("records"))


def test_reply_record_counts_once_and_the_clients_record_is_kept_though_smaller(spark):
    reply = oriented(1, record_from="server", bytes_=90000, ts=datetime(2026, 11, 1, 10, 0, 0, 350000))
    request = oriented(2, record_from="client", bytes_=1500)
    assert dedup(spark, reply, request) == [request]


def test_a_scans_syn_is_kept_over_the_answering_rst_that_the_ports_misread(spark):
    # both claim to be the client's record; only the SYN's orientation rests on its flags
    syn = oriented(1, direction="inbound", direction_from="tcp_flags", bytes_=44, internal=("175.45.176.10", 61000),
                   remote_port=40000)
    rst = oriented(2, direction="outbound", bytes_=60, internal=("175.45.176.10", 61000), remote_port=40000)
    assert dedup(spark, rst, syn) == [syn]


def test_replies_seen_alone_are_kept(spark):
    reply = oriented(1, direction="inbound", record_from="server", bytes_=90000)
    assert dedup(spark, reply) == [reply]


def test_same_record_in_two_dumps_counts_once_keeping_the_first_source_object(spark):
    in_b = oriented(3, source_object="flows/b.csv")
    in_a = oriented(9, source_object="flows/a.csv")
    assert dedup(spark, in_b, in_a) == [in_a]


def test_two_exporters_with_different_bytes_keep_the_larger_record(spark):
    small = oriented(1, exporter="exp-1", bytes_=400, source_object="flows/a.csv")
    large = oriented(1, exporter="exp-2", bytes_=900, source_object="flows/b.csv")
    assert dedup(spark, small, large) == [large]


def test_records_starting_in_different_seconds_are_both_kept(spark):
    first = oriented(1, ts=datetime(2026, 11, 1, 10, 0, 0))
    second = oriented(2, ts=datetime(2026, 11, 1, 10, 0, 1))
    assert dedup(spark, first, second) == sorted([first, second], key=_order)


def test_records_differing_in_remote_port_are_both_kept(spark):
    https = oriented(1, remote_port=443)
    http = oriented(2, remote_port=80)
    assert dedup(spark, https, http) == sorted([https, http], key=_order)


def test_reply_of_an_internal_flow_counts_once(spark):
    # equal ports: the record and its reply are oriented from opposite sides
    request = oriented(1, direction="internal", internal=("175.45.176.10", 5000), remote_ip="210.52.109.5",
                       remote_port=5000)
    reply = oriented(2, direction="internal", range_name="china_netcom", internal=("210.52.109.5", 5000),
                     remote_ip="175.45.176.10", remote_port=5000, ts=datetime(2026, 11, 1, 10, 0, 0, 300000))
    assert dedup(spark, request, reply) == [request]


def test_each_kept_flow_counts_the_records_it_stood_for(spark):
    rows = [oriented(1, record_from="server", bytes_=90000), oriented(2), oriented(3, source_object="flows/b.csv"),
            oriented(4, remote_ip="93.184.216.35")]
    df = spark.createDataFrame([tuple(r[c] for c in COLUMNS) for r in rows], ORIENTED_SCHEMA)

    assert sorted((r.line_number, r.records) for r in deduplicated_flows(df).collect()) == [(2, 3), (4, 1)]
