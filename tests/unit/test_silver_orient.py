"""Unit tests for flowlake.silver.orient: which side serves, which is inside, and who started the flow."""

from __future__ import annotations

from datetime import date, datetime

from flowlake.config import MonitoredRange
from pyspark.sql import functions as F

from flowlake.silver.orient import may_be_monitored, monitored_addresses, oriented_flows, range_prefixes

FLOW_SCHEMA = ("ts timestamp, ts_end timestamp, day date, src_ip string, dst_ip string, src_port int, "
               "dst_port int, protocol int, tcp_flags int, bytes long, packets long, sampling_rate int, exporter string, "
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


FULL_CONVERSATION = 0x1b  # FIN, SYN, PSH, ACK: what either side of a whole TCP conversation sends
SYN_ONLY, RST_ACK = 0x02, 0x14


def flow(src_ip, dst_ip, src_port, dst_port, line, tcp_flags=FULL_CONVERSATION):
    return (TS, TS_END, DAY, src_ip, dst_ip, src_port, dst_port, 6, tcp_flags, 1200, 4, 1, "exp-1", "flows/a.csv",
            line)


SERVICE_PORTS = [8080, 8333, 9001]


def orient(spark, *flows):
    monitored = spark.createDataFrame([(KP_A, "kp"), (KP_B, "kp"), (NETCOM, "china_netcom")],
                                      "ip string, range_name string")
    return oriented_flows(spark.createDataFrame(list(flows), FLOW_SCHEMA), monitored, SERVICE_PORTS)


def oriented(internal, remote, direction, record_from, line, range_name="kp", tcp_flags=FULL_CONVERSATION,
             direction_from="ports"):
    return {"range_name": range_name, "internal_ip": internal[0], "internal_port": internal[1],
            "remote_ip": remote[0], "remote_port": remote[1], "direction": direction,
            "direction_from": direction_from, "record_from": record_from, **CARRIED, "tcp_flags": tcp_flags,
            "line_number": line}


def test_request_from_inside_to_a_well_known_port_is_outbound(spark):
    assert as_dicts(orient(spark, flow(KP_A, "8.8.8.8", 40000, 53, 1))) == [
        oriented((KP_A, 40000), ("8.8.8.8", 53), "outbound", "client", 1)]


def test_reply_of_a_remote_web_server_is_still_the_inside_hosts_outbound_flow(spark):
    assert as_dicts(orient(spark, flow("93.184.216.34", KP_A, 443, 50000, 2))) == [
        oriented((KP_A, 50000), ("93.184.216.34", 443), "outbound", "server", 2)]


def test_crawler_reaching_a_monitored_web_server_is_inbound_whichever_record_is_seen(spark):
    crawler = "104.131.7.7"
    request, reply = flow(crawler, KP_A, 45000, 443, 3), flow(KP_A, crawler, 443, 45000, 4)
    assert as_dicts(orient(spark, request, reply)) == [
        oriented((KP_A, 443), (crawler, 45000), "inbound", "client", 3),
        oriented((KP_A, 443), (crawler, 45000), "inbound", "server", 4)]


def test_conversation_between_two_monitored_hosts_is_internal_from_the_client_side(spark):
    request, reply = flow(KP_A, NETCOM, 40000, 22, 5), flow(NETCOM, KP_A, 22, 40000, 6)
    assert as_dicts(orient(spark, request, reply)) == [
        oriented((KP_A, 40000), (NETCOM, 22), "internal", "client", 5),
        oriented((KP_A, 40000), (NETCOM, 22), "internal", "server", 6)]


def test_a_service_port_serves_even_when_the_clients_port_is_lower(spark):
    # 3000 is lower than 8080, but 8080 is a service port and 3000 is not
    assert as_dicts(orient(spark, flow("198.51.100.1", KP_A, 8080, 3000, 7))) == [
        oriented((KP_A, 3000), ("198.51.100.1", 8080), "outbound", "server", 7)]


def test_a_well_known_port_serves_before_a_service_port(spark):
    assert as_dicts(orient(spark, flow(KP_A, "198.51.100.1", 8080, 443, 8))) == [
        oriented((KP_A, 8080), ("198.51.100.1", 443), "outbound", "client", 8)]


def test_between_two_unlisted_ports_the_lower_serves(spark):
    assert as_dicts(orient(spark, flow(KP_A, "198.51.100.1", 20000, 61000, 9))) == [
        oriented((KP_A, 20000), ("198.51.100.1", 61000), "inbound", "server", 9)]


def test_equal_ports_leave_the_destination_serving(spark):
    assert as_dicts(orient(spark, flow("198.51.100.1", KP_A, 0, 0, 10))) == [
        oriented((KP_A, 0), ("198.51.100.1", 0), "inbound", "client", 10)]


def test_a_syn_without_ack_was_sent_by_the_client_whatever_the_ports_say(spark):
    # a scanner sweeping the host's high ports from a lower source port: by ports it would serve
    scanner = "193.32.160.7"
    assert as_dicts(orient(spark, flow(scanner, KP_A, 40000, 61000, 11, tcp_flags=SYN_ONLY),
                           flow(KP_A, scanner, 61000, 40000, 12, tcp_flags=RST_ACK))) == [
        oriented((KP_A, 61000), (scanner, 40000), "inbound", "client", 11, tcp_flags=SYN_ONLY,
                 direction_from="tcp_flags"),
        # the host's RST has no SYN: the ports decide, and misread it (deduplication keeps the SYN)
        oriented((KP_A, 61000), (scanner, 40000), "outbound", "client", 12, tcp_flags=RST_ACK)]


def test_flags_count_only_for_tcp_and_only_when_known(spark):
    udp = flow(KP_A, "198.51.100.1", 20000, 61000, 13, tcp_flags=SYN_ONLY)
    udp = udp[:7] + (17,) + udp[8:]
    unknown = flow(KP_A, "198.51.100.1", 20000, 61000, 14, tcp_flags=None)
    assert [(r.line_number, r.direction, r.direction_from) for r in
            orient(spark, udp, unknown).orderBy("line_number").collect()] == [
        (13, "inbound", "ports"), (14, "inbound", "ports")]


def test_flow_touching_no_monitored_range_is_dropped(spark):
    result = orient(spark, flow("8.8.8.8", "1.1.1.1", 5353, 53, 4), flow(KP_B, "1.1.1.1", 5353, 53, 5))
    assert as_dicts(result.select("internal_ip", "line_number")) == [{"internal_ip": KP_B, "line_number": 5}]


RANGES = (MonitoredRange("big", ("10.0.0.0/8",)), MonitoredRange("lab", ("10.20.0.0/16", "192.168.1.0/24")))


def monitored(spark, *pairs, ranges=RANGES):
    flows = spark.createDataFrame([flow(src, dst, 1, 2, i) for i, (src, dst) in enumerate(pairs)], FLOW_SCHEMA)
    return as_dicts(monitored_addresses(flows, ranges, range_prefixes(spark, ranges)))


def test_monitored_addresses_take_the_longest_of_nested_ranges_once_each(spark):
    assert monitored(spark, ("10.20.1.1", "10.30.0.1"), ("8.8.8.8", "10.20.1.1")) == [
        {"ip": "10.20.1.1", "range_name": "lab"}, {"ip": "10.30.0.1", "range_name": "big"}]


def test_first_and_last_address_of_a_range_are_monitored_and_neighbours_are_not(spark):
    assert monitored(spark, ("192.168.1.0", "192.168.1.255"), ("192.168.0.255", "192.168.2.0")) == [
        {"ip": "192.168.1.0", "range_name": "lab"}, {"ip": "192.168.1.255", "range_name": "lab"}]


def test_a_range_not_on_an_octet_boundary_ends_inside_its_last_octet(spark):
    # 175.45.176.0/22: every address starting "175.45." is matched, only 176..179 are inside
    kp = (MonitoredRange("kp", ("175.45.176.0/22",)),)
    assert monitored(spark, ("175.45.175.255", "175.45.176.0"), ("175.45.179.255", "175.45.180.0"),
                     ("175.45.17.1", "8.8.8.8"), ranges=kp) == [
        {"ip": "175.45.176.0", "range_name": "kp"}, {"ip": "175.45.179.255", "range_name": "kp"}]


def test_text_that_is_no_canonical_address_is_never_monitored(spark):
    # addresses are keyed from canonical text only: a leading zero or a port is no address
    assert monitored(spark, ("10.020.1.1", "10.20.1.1:80"), ("lab.example", "10.20.1.2")) == [
        {"ip": "10.20.1.2", "range_name": "lab"}]


def test_an_ipv6_range_matches_its_addresses_in_any_spelling(spark):
    v6 = (MonitoredRange("v6", ("2001:db8:10::/48",)), MonitoredRange("lab", ("10.20.0.0/16",)))
    assert monitored(spark, ("2001:db8:10::1", "2001:0db8:0010:0000:0000:0000:0000:0002"),
                     ("2001:db8:11::1", "10.20.0.1"), ranges=v6) == [
        {"ip": "10.20.0.1", "range_name": "lab"}, {"ip": "2001:0db8:0010:0000:0000:0000:0000:0002", "range_name": "v6"},
        {"ip": "2001:db8:10::1", "range_name": "v6"}]


def test_may_be_monitored_tests_whole_fixed_octets_and_ipv6_only_where_a_range_is_ipv6(spark):
    ranges = (MonitoredRange("kp", ("175.45.176.0/22", "10.0.0.0/8")),)
    df = spark.createDataFrame([("175.45.176.1",), ("175.4.1.1",), ("10.1.1.1",), ("110.1.1.1",), ("2001:db8::1",)],
                               "ip string")
    assert [r.may for r in df.select(may_be_monitored(F.col("ip"), ranges).alias("may")).collect()] == [
        True, False, True, False, False]
