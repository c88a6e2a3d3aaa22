"""Deduplication: the same flow reported more than once counts once.

Exporters report one conversation several times: once per direction (a reply record with
source and destination swapped), again in an overlapping dump, again by a second exporter.
After orientation all of these share one key:

    (the two endpoints (ip, port) as an unordered pair, protocol, start second)

The pair is unordered because a conversation between two monitored hosts is oriented from
whichever side sent the record, so its reply swaps internal and remote.
The start is truncated to the second because exporters stamp the two directions and each
other's copies a few milliseconds apart. Of the records sharing a key the one kept is the
largest (bytes), then the one seen from inside (outbound or internal before inbound, which is
a reply), then the first by source object and line, so a re-run keeps the same record.
Bytes are not added up: two exporters seeing the same packets would double them.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def deduplicated_flows(oriented: DataFrame) -> DataFrame:
    """One flow per key: the preferred record of those sharing it (see the module docstring)."""
    inside = F.struct(F.col("internal_ip").alias("ip"), F.col("internal_port").alias("port"))
    outside = F.struct(F.col("remote_ip").alias("ip"), F.col("remote_port").alias("port"))
    key = (F.least(inside, outside), F.greatest(inside, outside), F.col("protocol"), F.date_trunc("second", "ts"))
    preference = Window.partitionBy(*key).orderBy(
        F.col("bytes").desc(), F.when(F.col("direction") == "inbound", 1).otherwise(0),
        "source_object", "line_number")
    return (oriented.withColumn("_rank", F.row_number().over(preference))
            .where("_rank = 1").drop("_rank"))
