"""IP addresses as sortable keys, and longest-prefix matching with native Spark expressions.

An address becomes a fixed-width text key: "4" + 8 hex digits for IPv4, "6" + 32 hex digits
for IPv6, so that `start_key <= ip_key <= end_key` is a plain string comparison and a CIDR is
a key range. Prefixes are matched by bucket: every prefix is listed under each /16 bucket it
covers, addresses join the small prefix table on their bucket (a broadcast hash join, no
cartesian product, no Python per row), and the longest matching prefix wins.
"""

from __future__ import annotations

import ipaddress

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

BUCKET_CHARS = 5  # family digit + 4 hex digits: a /16 of either family
MIN_PREFIX_LENGTH = 8  # a shorter prefix would fan out to more than 256 buckets (IPv4)

_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"

# Bronze stores IPv6 in compressed form ("2001:db8::1"): expand the "::" run of zero groups,
# pad every group to 4 hex digits. IPv4 becomes its 32-bit number in hex.
_IP_KEY_SQL = """
CASE
  WHEN {ip} RLIKE '^{octet}(\\\\.{octet}){{3}}$' THEN concat('4', lpad(lower(hex(
      cast(split({ip}, '\\\\.')[0] AS BIGINT) * 16777216 + cast(split({ip}, '\\\\.')[1] AS BIGINT) * 65536
    + cast(split({ip}, '\\\\.')[2] AS BIGINT) * 256 + cast(split({ip}, '\\\\.')[3] AS BIGINT))), 8, '0'))
  WHEN {ip} RLIKE '(?i)^[0-9a-f]{{0,4}}(:[0-9a-f]{{0,4}}){{2,7}}$' AND size(split({ip}, '::')) <= 2
       AND (size(split({ip}, '::')) = 2 OR size(split({ip}, ':')) = 8) THEN concat('6', lower(concat_ws('', transform(
      concat(
        CASE WHEN split({ip}, '::')[0] = '' THEN array() ELSE split(split({ip}, '::')[0], ':') END,
        array_repeat('0', 8
          - CASE WHEN split({ip}, '::')[0] = '' THEN 0 ELSE size(split(split({ip}, '::')[0], ':')) END
          - CASE WHEN size(split({ip}, '::')) < 2 OR split({ip}, '::')[1] = '' THEN 0
                 ELSE size(split(split({ip}, '::')[1], ':')) END),
        CASE WHEN size(split({ip}, '::')) < 2 OR split({ip}, '::')[1] = '' THEN array()
             ELSE split(split({ip}, '::')[1], ':') END),
      g -> lpad(g, 4, '0')))))
END"""


def ip_key(column: str) -> Column:
    """The sortable key of the address in `column` (null for anything that is not an address)."""
    return F.expr(_IP_KEY_SQL.format(ip=f"`{column}`", octet=_OCTET))


def address_key(address: str) -> str:
    """The same key, computed in Python (for reference data and tests)."""
    ip = ipaddress.ip_address(address)
    return f"4{int(ip):08x}" if ip.version == 4 else f"6{int(ip):032x}"


def cidr_range(cidr: str) -> tuple[str, str, int, list[str]]:
    """(start key, end key, prefix length, buckets covered) of a network."""
    network = ipaddress.ip_network(cidr, strict=False)
    if network.prefixlen < MIN_PREFIX_LENGTH:
        raise ValueError(f"{cidr}: prefixes shorter than /{MIN_PREFIX_LENGTH} are not supported")
    start, end = address_key(str(network.network_address)), address_key(str(network.broadcast_address))
    first, last = int(start[1:BUCKET_CHARS], 16), int(end[1:BUCKET_CHARS], 16)
    buckets = [f"{start[0]}{b:04x}" for b in range(first, last + 1)]
    return start, end, network.prefixlen, buckets


PREFIX_SCHEMA = T.StructType([
    T.StructField("bucket", T.StringType()), T.StructField("start_key", T.StringType()),
    T.StructField("end_key", T.StringType()), T.StructField("prefix_length", T.IntegerType()),
])


def prefix_table(spark: SparkSession, rows: list[tuple[str, dict]], value_schema: T.StructType) -> DataFrame:
    """A bucketed prefix table from (cidr, values) pairs; values follow `value_schema`."""
    records = []
    for cidr, values in rows:
        start, end, length, buckets = cidr_range(cidr)
        for bucket in buckets:
            records.append((bucket, start, end, length, *[values.get(f.name) for f in value_schema]))
    return spark.createDataFrame(records, T.StructType(PREFIX_SCHEMA.fields + value_schema.fields))


def longest_prefix_match(addresses: DataFrame, ip_column: str, prefixes: DataFrame) -> DataFrame:
    """`addresses` with the value columns of the longest prefix holding each address.

    Addresses in no prefix keep null values. `addresses` should hold distinct addresses: the
    result has one row per input row.
    """
    value_columns = [c for c in prefixes.columns if c not in PREFIX_SCHEMA.fieldNames()]
    keyed = addresses.withColumn("_key", ip_key(ip_column)).withColumn("_bucket", F.substring("_key", 1, BUCKET_CHARS))
    matched = (keyed.join(F.broadcast(prefixes), (F.col("_bucket") == F.col("bucket"))
                          & F.col("_key").between(F.col("start_key"), F.col("end_key")), "left"))
    best = F.max_by(F.struct(*value_columns), F.coalesce("prefix_length", F.lit(-1))).alias("_best")
    keep = [c for c in addresses.columns]
    return (matched.groupBy(*keep).agg(best)
            .select(*keep, *[F.col(f"_best.{c}").alias(c) for c in value_columns]))
