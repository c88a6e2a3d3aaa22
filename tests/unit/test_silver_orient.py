"""Unit tests for flowlake.silver.orient: which side of a flow is inside, and which way it went."""

from __future__ import annotations

from datetime import date, datetime

from flowlake.config import MonitoredRange
from flowlake.silver.orient import monitored_addresses, oriented_flows, range_prefixes

FLOW_SCHEMA = ("ts timestamp, ts_end timestamp, day date, src_ip string, dst_ip string, src_port int, "
               "dst_port int, protocol int, bytes long, packets long, sampling_rate int, exporter string, "
               "source_object string, line_number long")
TS, TS_END, DAY = datetime(2026, 11, 1, 10, 0, 0), datetime(2026, 11, 1, 10, 0, 5), date(2026, 11, 1)
KP_A, KP_B, NETCOM = "175.45.176.10", "175.45.176.20", "210.52.109.5"

# what every oriented row carries over from bronze unchanged
CARRIED = {"ts": TS, "ts_end": TS_END, "day": DAY, "protocol": 6, "bytes": 1200, "packets": 4,
           "sampling_rate": 1, "exporter": "exp-1", "source_object": "flows/a.csv"}


def _order(row: dict):
    return [(k, str(row[k])) for k in sorted(row)]


def as_dicts(df) -> list[dict]:
    return sorted((r.asDict() for r in df.collect()), key=_order)


def flow(src_ip, dst_ip, src_port, dst_port, line):
    return (TS, TS_END, DAY, src_ip, dst_ip, src_port, dst_port, 6, 1200, 4, 1, "exp-1", "flows/a.csv", line)


def orient(spark, *flows):
    monitored = spark.createDataFrame([(KP_A, "kp"), (KP_B, "kp"), (NETCOM, "china_netcom")],
                                      "ip string, range_name string")
    return oriented_flows(spark.createDataFrame(list(flows), FLOW_SCHEMA), monitored)


def test_flow_from_inside_is_outbound_with_source_as_internal_side(spark):
    assert as_dicts(orient(spark, flow(KP_A, "8.8.8.8", 40000, 53, 1))) == [{
        "range_name": "kp", "internal_ip": KP_A, "internal_port": 40000, "remote_ip": "8.8.8.8",
        "remote_port": 53, "direction": "outbound", **CARRIED, "line_number": 1}]


def test_flow_to_inside_is_inbound_with_addresses_and_ports_swapped(spark):
    assert as_dicts(orient(spark, flow("93.184.216.34", KP_A, 443, 50000, 2))) == [{
        "range_name": "kp", "internal_ip": KP_A, "internal_port": 50000, "remote_ip": "93.184.216.34",
        "remote_port": 443, "direction": "inbound", **CARRIED, "line_number": 2}]


def test_flow_between_two_monitored_hosts_is_internal_with_source_as_internal_side(spark):
    assert as_dicts(orient(spark, flow(KP_A, NETCOM, 1000, 22, 3))) == [{
        "range_name": "kp", "internal_ip": KP_A, "internal_port": 1000, "remote_ip": NETCOM,
        "remote_port": 22, "direction": "internal", **CARRIED, "line_number": 3}]


def test_flow_touching_no_monitored_range_is_dropped(spark):
    result = orient(spark, flow("8.8.8.8", "1.1.1.1", 5353, 53, 4), flow(KP_B, "1.1.1.1", 5353, 53, 5))
    assert as_dicts(result.select("internal_ip", "line_number")) == [{"internal_ip": KP_B, "line_number": 5}]


RANGES = (MonitoredRange("big", ("10.0.0.0/8",)), MonitoredRange("lab", ("10.20.0.0/16", "192.168.1.0/24")))


def monitored(spark, *pairs):
    flows = spark.createDataFrame([flow(src, dst, 1, 2, i) for i, (src, dst) in enumerate(pairs)], FLOW_SCHEMA)
    return as_dicts(monitored_addresses(flows, range_prefixes(spark, RANGES)))


def test_monitored_addresses_take_the_longest_of_nested_ranges_once_each(spark):
    assert monitored(spark, ("10.20.1.1", "10.30.0.1"), ("8.8.8.8", "10.20.1.1")) == [
        {"ip": "10.20.1.1", "range_name": "lab"}, {"ip": "10.30.0.1", "range_name": "big"}]


def test_first_and_last_address_of_a_range_are_monitored_and_neighbours_are_not(spark):
    assert monitored(spark, ("192.168.1.0", "192.168.1.255"), ("192.168.0.255", "192.168.2.0")) == [
        {"ip": "192.168.1.0", "range_name": "lab"}, {"ip": "192.168.1.255", "range_name": "lab"}]
