"""Deduplication: the same flow reported more than once counts once.

Exporters report one conversation several times: once per direction (a reply record with
source and destination swapped), again in an overlapping dump, again by a second exporter.
After orientation all of these share one key:

    (internal_ip, internal_port, remote_ip, remote_port, protocol, start second)

The start is truncated to the second because exporters stamp the two directions and each
other's copies a few milliseconds apart. Of the records sharing a key the one kept is the
largest (bytes), then the one seen from inside (outbound or internal before inbound, which is
a reply), then the first by source object and line, so a re-run keeps the same record.
Bytes are not added up: two exporters seeing the same packets would double them.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

DEDUP_KEY = ("internal_ip", "internal_port", "remote_ip", "remote_port", "protocol")


def deduplicated_flows(oriented: DataFrame) -> DataFrame:
    start_second = F.date_trunc("second", "ts")
    preference = Window.partitionBy(*DEDUP_KEY, start_second).orderBy(
        F.col("bytes").desc(), F.when(F.col("direction") == "inbound", 1).otherwise(0),
        "source_object", "line_number")
    return (oriented.withColumn("_rank", F.row_number().over(preference))
            .where("_rank = 1").drop("_rank"))
