"""Sampling: a sampled exporter's counts scaled up to estimates of the traffic it saw.

An exporter sampling 1 packet in N reports about an N-th of each conversation's packets and
bytes, and conversations it happened not to sample at all; each record therefore stands for
about N times its counts. `estimated_counts` keeps the record's own counts as `raw_bytes` and
`raw_packets` and makes `bytes`, `packets` and `flows` (the conversations a row stands for)
the estimates: each times the record's `sampling_rate`. A rate that is null, 0 or 1 means
unsampled (bronze fills it from the record where the format carries it, else from the
source's `sampling_rate` in config), so unsampled rows keep their counts and stand for one flow.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def sampled() -> Column:
    """Whether a row's counts are estimates from a sampled exporter."""
    return F.coalesce(F.col("sampling_rate") > 1, F.lit(False))


def estimated_counts(flows: DataFrame) -> DataFrame:
    """`flows` with `bytes`, `packets` and `flows` as sampling estimates, the raw counts beside."""
    rate = F.when(sampled(), F.col("sampling_rate").cast("long")).otherwise(F.lit(1).cast("long"))
    return (flows.withColumn("raw_bytes", F.col("bytes")).withColumn("raw_packets", F.col("packets"))
            .withColumn("bytes", F.col("bytes") * rate).withColumn("packets", F.col("packets") * rate)
            .withColumn("flows", rate))
