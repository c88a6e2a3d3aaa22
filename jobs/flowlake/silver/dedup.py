"""Deduplication: the same flow reported more than once counts once.

Exporters report one conversation several times: once per direction (a reply record with
source and destination swapped), again in an overlapping dump, again by a second exporter.
After orientation all of these share one key:

    (the two endpoints (ip, port) as an unordered pair, protocol, start second)

The pair is unordered because where the ports cannot tell who serves (both equal) a record and
its reply are oriented from opposite sides. The start is truncated to the second because
exporters stamp the two directions and each other's copies a few milliseconds apart. Of the
records sharing a key the one kept is the one oriented by its TCP flags (`direction_from`: a
scan's SYN, where the port rule misreads the answering RST as the host's own request), then the
client's (`record_from` = client: the request direction; an exporter that sees one direction
only may have reported the replies alone), then
the largest (bytes), then the first by source object and line, so a re-run keeps the same
record; `record_from` on the kept row states which it was, and `records` how many records it
stood for (so the run counts its oriented records without a second pass over them).
Bytes are not added up: two exporters seeing the same packets would double them.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def deduplicated_flows(oriented: DataFrame) -> DataFrame:
    """One flow per key: the preferred record of those sharing it (see the module docstring)."""
    inside = F.struct(F.col("internal_ip").alias("ip"), F.col("internal_port").alias("port"))
    outside = F.struct(F.col("remote_ip").alias("ip"), F.col("remote_port").alias("port"))
    key = {"_low": F.least(inside, outside), "_high": F.greatest(inside, outside), "_protocol": F.col("protocol"),
           "_second": F.date_trunc("second", "ts")}
    # The key as columns, and both figures in one window operator: windows over expressions
    # were two shuffles of every flow, as Spark aliases each window's expressions apart. The
    # key's hash leads, so the sort compares longs, not structs, but on a hash tie. The day is
    # among the window's keys: it follows from the start second, so the groups are the same, and
    # flows already partitioned by day are deduplicated without another shuffle.
    columns = {**key, "_hash": F.xxhash64(*key.values())}
    preference = Window.partitionBy("_hash", "day", *key).orderBy(
        F.when(F.col("direction_from") == "tcp_flags", 0).otherwise(1),
        F.when(F.col("record_from") == "client", 0).otherwise(1), F.col("bytes").desc(),
        "source_object", "line_number")
    every_record = preference.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    return (oriented.withColumns(columns)
            .withColumns({"_rank": F.row_number().over(preference), "records": F.count(F.lit(1)).over(every_record)})
            .where("_rank = 1").drop("_rank", *columns))
