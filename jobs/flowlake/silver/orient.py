"""Orientation: which side of a flow is inside a monitored range, and which way it went.

`monitored_addresses` finds, among a DataFrame's distinct addresses, those inside a monitored
range (longest prefix wins). `oriented_flows` gives each flow its `range_name`,
`internal_ip`/`internal_port`, `remote_ip`/`remote_port` and `direction`: outbound (the source
is inside), inbound (only the destination is inside) or internal (both are). Flows touching
no monitored range are dropped here.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from flowlake.config import MonitoredRange
from flowlake.silver.addresses import longest_prefix_match, prefix_table


def range_prefixes(spark: SparkSession, ranges: tuple[MonitoredRange, ...]) -> DataFrame:
    schema = T.StructType([T.StructField("range_name", T.StringType())])
    return prefix_table(spark, [(cidr, {"range_name": r.name}) for r in ranges for cidr in r.cidrs], schema)


def monitored_addresses(flows: DataFrame, prefixes: DataFrame) -> DataFrame:
    """(ip, range_name) for every distinct address of `flows` inside a monitored range."""
    addresses = flows.select(F.col("src_ip").alias("ip")).union(flows.select(F.col("dst_ip").alias("ip"))).distinct()
    return longest_prefix_match(addresses, "ip", prefixes).where("range_name IS NOT NULL")


def oriented_flows(flows: DataFrame, monitored: DataFrame) -> DataFrame:
    """Flows with at least one side in `monitored`, oriented from the inside out."""
    # Monitored hosts are few: both lookups are broadcast hash joins.
    src = F.broadcast(monitored.select(F.col("ip").alias("src_ip"), F.col("range_name").alias("_src_range")))
    dst = F.broadcast(monitored.select(F.col("ip").alias("dst_ip"), F.col("range_name").alias("_dst_range")))
    joined = flows.join(src, "src_ip", "left").join(dst, "dst_ip", "left")
    src_inside = F.col("_src_range").isNotNull()
    dst_inside = F.col("_dst_range").isNotNull()
    direction = (F.when(src_inside & dst_inside, "internal").when(src_inside, "outbound")
                 .when(dst_inside, "inbound"))
    inbound = direction == "inbound"
    oriented = joined.withColumn("direction", direction).where("direction IS NOT NULL")
    other = [c for c in flows.columns if c not in ("src_ip", "dst_ip", "src_port", "dst_port")]
    return oriented.select(
        F.when(inbound, F.col("_dst_range")).otherwise(F.col("_src_range")).alias("range_name"),
        F.when(inbound, F.col("dst_ip")).otherwise(F.col("src_ip")).alias("internal_ip"),
        F.when(inbound, F.col("dst_port")).otherwise(F.col("src_port")).alias("internal_port"),
        F.when(inbound, F.col("src_ip")).otherwise(F.col("dst_ip")).alias("remote_ip"),
        F.when(inbound, F.col("src_port")).otherwise(F.col("dst_port")).alias("remote_port"),
        "direction", *other)
