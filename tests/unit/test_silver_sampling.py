"""Unit tests for flowlake.silver.sampling: sampled counts scaled to estimates, raw counts kept."""

from __future__ import annotations

from flowlake.silver.sampling import estimated_counts

SCHEMA = "line_number long, bytes long, packets long, sampling_rate int"


def estimates(spark, *rows):
    df = estimated_counts(spark.createDataFrame(list(rows), SCHEMA))
    return sorted(tuple(r) for r in df.select("line_number", "raw_bytes", "raw_packets", "bytes", "packets",
                                              "flows").collect())


def test_a_record_sampled_one_in_n_stands_for_n_times_its_counts(spark):
    assert estimates(spark, (1, 1500, 3, 100), (2, 64, 1, 512)) == [
        (1, 1500, 3, 150_000, 300, 100), (2, 64, 1, 32_768, 512, 512)]


def test_unsampled_records_keep_their_counts_whatever_says_so(spark):
    # no rate at all, GoFlow2's 0 for "not said", and an explicit 1:1
    assert estimates(spark, (1, 1500, 3, None), (2, 1500, 3, 0), (3, 1500, 3, 1)) == [
        (1, 1500, 3, 1500, 3, 1), (2, 1500, 3, 1500, 3, 1), (3, 1500, 3, 1500, 3, 1)]
