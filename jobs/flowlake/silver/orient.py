"""Orientation: which side of a conversation serves, which side is inside, and who started it.

`monitored_addresses` finds, among a DataFrame's distinct addresses, those inside a monitored
range (longest prefix wins). `oriented_flows` gives each flow its `range_name`,
`internal_ip`/`internal_port`, `remote_ip`/`remote_port`, `direction`, `direction_from` and
`record_from`.

Who started a conversation is never decided from which record is bigger (a monitored web
server's replies to a crawler are bigger than the crawler's requests, and an exporter that sees
only one direction reports the replies alone). The first evidence is the TCP flags: a record
whose flags hold SYN without ACK was sent by the side that opened the connection (its first
packet, or a probe nobody answered), whatever its ports (`opened_by_source`). A scanner sweeping
high ports from a lower source port is told so; by ports alone it would serve, and the swept
host would seem to use it. `direction_from` says which evidence decided: `tcp_flags` or `ports`.
Otherwise the side that serves is the one whose port ranks first (`server_is_source`):

1. a well-known port (1-1023),
2. a service port: the catalog's service, crypto and stratum ports and its registered server
   ports (`Catalog.service_ports()`),
3. the lower port,
4. on a tie (both ports equal, or portless protocols such as ICMP) the record's destination,
   as exporters write the sender of a request as its source.

The other side is the client, who started it: `outbound` when the client is inside and the
server outside, `inbound` when a remote client reached a monitored server, `internal` when both
are inside. The internal side is the client, except for `inbound`. `record_from` says whose
packets the record counted: `client` (the request direction) or `server` (the replies).
Flows touching no monitored range are dropped here.
"""

from __future__ import annotations

import ipaddress
import operator
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from flowlake.config import MonitoredRange
from flowlake.readers.fields import PROTOCOL_NUMBERS, TCP_FLAG_BITS
from flowlake.silver.addresses import longest_prefix_match, prefix_table

WELL_KNOWN_PORTS = (1, 1023)
TCP, SYN, ACK = PROTOCOL_NUMBERS["tcp"], TCP_FLAG_BITS["S"], TCP_FLAG_BITS["A"]


def range_prefixes(spark: SparkSession, ranges: tuple[MonitoredRange, ...]) -> DataFrame:
    schema = T.StructType([T.StructField("range_name", T.StringType())])
    return prefix_table(spark, [(cidr, {"range_name": r.name}) for r in ranges for cidr in r.cidrs], schema)


def may_be_monitored(ip: Column, ranges: tuple[MonitoredRange, ...]) -> Column:
    """Whether the address `ip` may lie in a monitored range, from its text alone: an IPv4
    address starting as a monitored network does (its whole fixed octets, "175.45." for
    175.45.176.0/22), any IPv6 address where a range is IPv6. Addresses are keyed from their
    canonical text only (`flowlake.silver.addresses.ip_key`), which this test cannot miss."""
    networks = [ipaddress.ip_network(cidr, strict=False) for r in ranges for cidr in r.cidrs]
    prefixes = sorted({"".join(octet + "." for octet in str(n.network_address).split(".")[:n.prefixlen // 8])
                       for n in networks if n.version == 4})
    tests = [ip.startswith(prefix) for prefix in prefixes] + [ip.contains(":")] * any(n.version == 6 for n in networks)
    return reduce(operator.or_, tests, F.lit(False))


def monitored_addresses(flows: DataFrame, ranges: tuple[MonitoredRange, ...], prefixes: DataFrame) -> DataFrame:
    """(ip, range_name) for every distinct address of `flows` inside a monitored range (`ranges`,
    as the prefix table `prefixes`)."""
    # Both sides from one read of the flows (a union of the two columns read them twice), and
    # only addresses whose text may be monitored made distinct and matched: most of a flow's
    # addresses are remote ones (BENCHMARKS.md, "2026-12-02 18:20").
    addresses = (flows.select(F.explode(F.array("src_ip", "dst_ip")).alias("ip"))
                 .where(may_be_monitored(F.col("ip"), ranges)).distinct())
    return longest_prefix_match(addresses, "ip", prefixes).where("range_name IS NOT NULL")


def _port_rank(port: Column, service_ports: list[int]) -> Column:
    """0 for a well-known port, 1 for a service port, 2 for any other: lower serves."""
    low, high = WELL_KNOWN_PORTS
    return (F.when(port.between(low, high), 0)
            .when(port.isin(*service_ports) if service_ports else F.lit(False), 1).otherwise(2))


def opened_by_source() -> Column:
    """Whether a record is a TCP record whose flags have SYN without ACK (see the module docstring)."""
    return F.coalesce((F.col("protocol") == TCP) & (F.col("tcp_flags").bitwiseAND(SYN | ACK) == SYN), F.lit(False))


def server_is_source(service_ports: list[int]) -> Column:
    """Whether a record's source is the side that serves (see the module docstring)."""
    src_rank = _port_rank(F.col("src_port"), service_ports)
    dst_rank = _port_rank(F.col("dst_port"), service_ports)
    return F.coalesce((src_rank < dst_rank) | ((src_rank == dst_rank) & (F.col("src_port") < F.col("dst_port"))),
                      F.lit(False))


def oriented_flows(flows: DataFrame, monitored: DataFrame, service_ports: list[int]) -> DataFrame:
    """Flows with at least one side in `monitored`, oriented by who started them."""
    # Monitored hosts are few: both lookups are broadcast hash joins.
    src = F.broadcast(monitored.select(F.col("ip").alias("src_ip"), F.col("range_name").alias("_src_range")))
    dst = F.broadcast(monitored.select(F.col("ip").alias("dst_ip"), F.col("range_name").alias("_dst_range")))
    joined = (flows.join(src, "src_ip", "left").join(dst, "dst_ip", "left")
              .withColumn("_by_flags", opened_by_source())
              .withColumn("_src_serves", ~F.col("_by_flags") & server_is_source(service_ports)))
    src_inside, dst_inside = F.col("_src_range").isNotNull(), F.col("_dst_range").isNotNull()
    client_inside = F.when(F.col("_src_serves"), dst_inside).otherwise(src_inside)
    server_inside = F.when(F.col("_src_serves"), src_inside).otherwise(dst_inside)
    direction = (F.when(client_inside & server_inside, "internal").when(client_inside, "outbound")
                 .when(server_inside, "inbound"))
    oriented = joined.withColumn("direction", direction).where("direction IS NOT NULL")
    # The internal side is the client, but for inbound conversations, where it is the server.
    internal_is_source = (F.col("direction") == "inbound") == F.col("_src_serves")
    other = [c for c in flows.columns if c not in ("src_ip", "dst_ip", "src_port", "dst_port")]

    def side(if_source: str, if_destination: str, name: str) -> Column:
        return F.when(internal_is_source, F.col(if_source)).otherwise(F.col(if_destination)).alias(name)

    return oriented.select(
        side("_src_range", "_dst_range", "range_name"), side("src_ip", "dst_ip", "internal_ip"),
        side("src_port", "dst_port", "internal_port"), side("dst_ip", "src_ip", "remote_ip"),
        side("dst_port", "src_port", "remote_port"), "direction",
        F.when(F.col("_by_flags"), "tcp_flags").otherwise("ports").alias("direction_from"),
        F.when(F.col("_src_serves"), "server").otherwise("client").alias("record_from"), *other)
