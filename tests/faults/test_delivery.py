"""Dumps delivered late, twice or changed, and the object store going away mid-run.

Covered elsewhere, not repeated here: the same dump under another key (recorded as
`duplicate_of`, adds nothing) and a crash between the data and manifest commits in
tests/integration/test_bronze_ingest.py; an SMTP server that refuses every attempt (retried,
reported, the report kept, the re-run mails it) in tests/integration/test_reports.py.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import time
from datetime import date

import pytest
from pyspark.sql import functions as F

from flowlake.gold.build import GOLD_TABLES
from flowlake.progress import Progress
from flowlake.tables import changed_days, table_version
from tests.faults.conftest import FIRST_DAY, RUN_TIME, build_lake, lake_config
from tests.faults.harness import ROOT, TABLES, convergence, lake_rows, record_result

pytestmark = [pytest.mark.integration, pytest.mark.faults]
LATE_OBJECT = f"flows/goflow2/{FIRST_DAY}.json.gz"
CHANGED_OBJECT = "flows/pyongyang/2017-07-02.csv.gz"
S3_SERVER = ROOT / "infra" / "s3-server.sh"


def versions(spark, config) -> dict[str, int]:
    return {f"{layer}.{table}": table_version(spark, config.table_uri(layer, table)) for layer, table in TABLES}


def rewritten_days(spark, config, before: dict[str, int]) -> dict[str, set[date]]:
    """Per silver and gold table, the days (or months) whose rows changed after `before`, from the change feed."""
    now = versions(spark, config)
    days = {"silver.flows": changed_days(spark, config.table_uri("silver", "flows"), before["silver.flows"],
                                         now["silver.flows"], F.col("day"))}
    for table in GOLD_TABLES:
        column = F.col("period_start") if table == "overseas_presence" else F.col("day")
        days[f"gold.{table}"] = changed_days(spark, config.table_uri("gold", table), before[f"gold.{table}"],
                                             now[f"gold.{table}"], column)
    return days


def redelivered_convergence(spark, config, fault_lake) -> dict:
    """`convergence` for a lake some of whose dumps were delivered after the reference's (late,
    or again): the manifest records their new modification time, the one difference that makes."""
    drop = ("modification_time",)
    return convergence(spark, config, lake_rows(spark, fault_lake.config, drop), fault_lake.truth, drop)


def assert_converged(figures: dict) -> None:
    assert figures["tables_equal"], figures["differences"]
    assert (figures["rows_lost"], figures["duplicates"]) == (0, 0), figures


def test_late_and_redelivered_dumps_rebuild_only_their_days_and_end_at_the_reference(spark, fault_lake, tmp_path):
    started = time.monotonic()
    shutil.copytree(fault_lake.raw, tmp_path / "raw")
    config = lake_config(tmp_path)
    late = tmp_path / "raw" / LATE_OBJECT
    held_back = late.read_bytes()
    late.unlink()
    build_lake(spark, config)

    # A day-one dump arriving after days two and three were built: only day one is rebuilt.
    before = versions(spark, config)
    late.write_bytes(held_back)
    build_lake(spark, config)
    rebuilt = rewritten_days(spark, config, before)
    figures = redelivered_convergence(spark, config, fault_lake)
    record_result("dump arriving two days late", trial=0,
                  days_rebuilt={t: sorted(map(str, d)) for t, d in rebuilt.items()},
                  seconds=round(time.monotonic() - started, 1), **figures)
    assert rebuilt["silver.flows"] == {FIRST_DAY}
    for table in ("service_usage_daily", "country_activity_daily", "crypto_activity_daily", "crypto_contacts_daily"):
        assert rebuilt[f"gold.{table}"] == {FIRST_DAY}, table
    # The month holding the day, and the month after, whose comparison looks back at it.
    assert rebuilt["gold.overseas_presence"] <= {date(2017, 7, 1), date(2017, 8, 1)}
    assert_converged(figures)

    # The same bytes delivered again under the same key (a new modification time): its rows
    # are replaced by the same rows, its day rebuilt to the same result.
    started = time.monotonic()
    changed = tmp_path / "raw" / CHANGED_OBJECT
    original = changed.read_bytes()
    before = versions(spark, config)
    changed.unlink()
    changed.write_bytes(original)
    build_lake(spark, config)
    rebuilt = rewritten_days(spark, config, before)
    figures = redelivered_convergence(spark, config, fault_lake)
    record_result("same object delivered twice under its key", trial=0,
                  days_rebuilt={t: sorted(map(str, d)) for t, d in rebuilt.items()},
                  seconds=round(time.monotonic() - started, 1), **figures)
    assert rebuilt["silver.flows"] <= {date(2017, 7, 2)}
    assert_converged(figures)

    # New bytes under the same key (the exporter re-sent the dump without 40 of its records):
    # the object's rows are exactly the new file's, nothing of the old bytes is left.
    started = time.monotonic()
    lines = gzip.decompress(original).decode().splitlines(keepends=True)
    changed.write_bytes(gzip.compress("".join(lines[:1] + lines[41:]).encode()))
    build_lake(spark, config)
    bronze = spark.read.format("delta").load(config.table_uri("bronze", "flows"))
    mine = bronze.where(F.col("source_object").endswith(CHANGED_OBJECT))
    reference_rows = (spark.read.format("delta").load(fault_lake.config.table_uri("bronze", "flows"))
                      .where(F.col("source_object").endswith(CHANGED_OBJECT)).count())
    rows, distinct_lines = mine.count(), mine.select("line_number").distinct().count()
    silver = spark.read.format("delta").load(config.table_uri("silver", "flows"))
    silver_duplicates = silver.count() - silver.select("internal_ip", "internal_port", "remote_ip", "remote_port",
                                                       "protocol", "ts").distinct().count()
    record_result("same key, new bytes", trial=0, rows_lost=reference_rows - 40 - distinct_lines,
                  duplicates=rows - distinct_lines + silver_duplicates, seconds=round(time.monotonic() - started, 1))
    assert rows == distinct_lines == reference_rows - 40
    assert mine.agg(F.max("line_number")).first()[0] <= len(lines) - 40
    assert silver_duplicates == 0
    assert bronze.count() == fault_lake.truth["records"] - 40


class StopServerAt:
    """A progress stream that stops the local S3 server when a stage line appears, in the
    job's own thread, so the stage runs with the store gone."""

    def __init__(self, stage_line: str):
        self.stage_line, self.stopped = stage_line, False

    def write(self, text: str) -> None:
        if self.stage_line in text and not self.stopped:
            subprocess.run([str(S3_SERVER), "stop"], check=True)
            self.stopped = True

    def flush(self) -> None:
        pass


def land(client, bucket: str, raw, days: tuple[str, ...]) -> None:
    for path in sorted(raw.rglob("*.gz")):
        if any(day in path.name for day in days):
            client.put_object(Bucket=bucket, Key=f"raw/{path.relative_to(raw)}", Body=path.read_bytes())


def test_the_object_store_stopping_mid_run_publishes_nothing_and_the_rerun_converges(
        spark, fault_lake, tmp_path, s3_endpoint):
    import boto3

    from flowlake.bronze.ingest import run_bronze

    started = time.monotonic()
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    bucket = f"faults-{tmp_path.name.lower().replace('_', '-')}"[:60]
    client.create_bucket(Bucket=bucket)
    config = lake_config(tmp_path, f"s3a://{bucket}/raw")
    # S3A retries a refused connection with a doubling pause for about a minute before it
    # gives up; for this bucket it gives up after one retry, so the test does not wait it out.
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in (("retry.limit", "1"), ("retry.interval", "100ms"), ("attempts.maximum", "1")):
        hadoop.set(f"fs.s3a.bucket.{bucket}.{key}", value)
    land(client, bucket, fault_lake.raw, ("2017-07-01",))
    build_lake(spark, config)
    before, rows_before = versions(spark, config), lake_rows(spark, config)

    land(client, bucket, fault_lake.raw, ("2017-07-02", "2017-07-03"))
    stream = StopServerAt("] parse ...")
    try:
        with pytest.raises(Exception) as failure:
            run_bronze(spark, config, RUN_TIME, Progress("bronze", stream=stream))
    finally:
        subprocess.run([str(S3_SERVER), "start"], check=True, capture_output=True)
    assert stream.stopped
    unchanged = versions(spark, config) == before and lake_rows(spark, config) == rows_before

    # moto keeps objects in memory: the restarted store is landed again, as a real one would still hold them.
    client.create_bucket(Bucket=bucket)
    land(client, bucket, fault_lake.raw, ("2017-07-01", "2017-07-02", "2017-07-03"))
    build_lake(spark, config)
    figures = redelivered_convergence(spark, config, fault_lake)
    record_result("S3 server stopped mid-run", trial=0, failure=f"{type(failure.value).__name__}",
                  tables_unchanged_after_failure=unchanged, seconds=round(time.monotonic() - started, 1), **figures)
    assert unchanged, "the failed run changed a table"
    assert_converged(figures)
