"""The whole pipeline on an s3a:// warehouse (issue 19, point 2): raw, warehouse and reports on
the local S3 server give, row for row, what the same raw objects give on local disk.

Two generated days of 200 flows each (the fewest that reach every table and report), ingested
twice from the same raw objects by the tests' one Spark session: once into a local-disk
warehouse, once into a warehouse and reports folder on the S3 server.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import boto3
import pytest

from flowlake.bronze.ingest import run_bronze
from flowlake.config import load_config
from flowlake.generate.dumps import generate
from flowlake.gold.build import run_gold
from flowlake.progress import Progress
from flowlake.reports.job import run_reports
from flowlake.silver.build import run_silver
from flowlake.storage import list_objects, read_object
from tests.conftest import write_config
from tests.faults.harness import lake_differences, lake_rows

pytestmark = pytest.mark.integration
RUN_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)


def report_tables(config) -> dict[str, bytes]:
    """Each report CSV under reports_uri, by its path below it. (The HTML names the tables'
    locations, which differ by design.)"""
    return {uri.removeprefix(config.reports_uri): read_object(uri, config.s3)
            for uri in list_objects(config.reports_uri, config.s3) if uri.endswith(".csv")}


def test_the_pipeline_on_an_s3_warehouse_gives_the_local_disk_rows(spark, s3_endpoint, tmp_path):
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="s3-lake")
    local = load_config(write_config(tmp_path, raw_uri="s3a://s3-lake/raw"))
    on_s3 = replace(local, warehouse_uri="s3a://s3-lake/warehouse", reports_uri="s3a://s3-lake/reports")
    generate(local, date(2017, 7, 1), date(2017, 7, 2), 200, 19, Progress("test"))

    for config in (local, on_s3):
        for run in (run_bronze, run_silver, run_gold):
            run(spark, config, RUN_TIME, Progress("test"))
        reports = run_reports(spark, config, RUN_TIME, Progress("test"))
        assert set(reports) == {"trend", "overseas", "crypto"}

    assert list_objects("s3a://s3-lake/warehouse/gold", on_s3.s3)
    expected = lake_rows(spark, local)
    # Every table has rows but the quarantine: two days this small hold no bad line.
    assert {table for table, rows in expected.items() if not rows} == {"bronze.quarantine"}
    assert lake_differences(lake_rows(spark, on_s3), expected) == {}
    local_reports = report_tables(local)
    assert len(local_reports) >= 3
    assert report_tables(on_s3) == local_reports
