"""Two writers on one s3a:// Delta table at once lose no commit (issue 19, point 1).

The race runs two Spark writers, each its own process, appending one-row commits to
one s3a:// Delta table at once, each commit inside the writer lease (flowlake.lease; jobs hold it
for their whole run, the writers here per commit so that they contend on every one). Every
writer's every row must be in the table and its versions contiguous. With
FLOWLAKE_RACE_UNPROTECTED=1 the writers leave the lease out, which is Delta's default S3 log
store alone: there the test fails, commits lost (README, "Many writers on an S3 warehouse").
Two JVMs starting on two busy cores take minutes, so it runs in `make faults`; `make test` keeps
the lease's own tests on the same S3 server (tests/unit/test_lease.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from flowlake.config import load_config
from tests.conftest import write_config

pytestmark = [pytest.mark.integration, pytest.mark.faults]
COMMITS_PER_WRITER = 8
WRITERS = ("east", "west")


def test_two_writers_on_one_s3_table_lose_no_commit(spark, s3_endpoint, tmp_path):
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket="race-test")
    warehouse = f"s3a://race-test/{tmp_path.name}"
    table = f"{warehouse}/race"
    config_path = write_config(tmp_path, warehouse_uri=warehouse, spark={"driver_memory": "1g"},
                               s3={"lease_seconds": 20, "lease_wait_seconds": 600})
    assert load_config(config_path).warehouse_uri == warehouse
    spark.createDataFrame([], "writer string, commit int").write.format("delta").save(table)

    barrier = tmp_path / "barrier"
    barrier.mkdir()
    unprotected = ["--unprotected"] if os.environ.get("FLOWLAKE_RACE_UNPROTECTED") == "1" else []
    writers = {name: subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("race_writer.py")), "--config", str(config_path),
         "--table", table, "--writer", name, "--commits", str(COMMITS_PER_WRITER),
         "--barrier", str(barrier), "--writers", str(len(WRITERS)), *unprotected],
        stdout=(tmp_path / f"{name}.log").open("w"), stderr=subprocess.STDOUT) for name in WRITERS}
    for name, writer in writers.items():
        writer.wait(timeout=1200)
        assert writer.returncode == 0, f"writer {name}:\n{(tmp_path / f'{name}.log').read_text()[-3000:]}"

    rows = {(r.writer, r.commit) for r in spark.read.format("delta").load(table).collect()}
    missing = {(name, commit) for name in writers for commit in range(COMMITS_PER_WRITER)} - rows
    assert not missing, f"commits lost: {sorted(missing)}"
    assert spark.read.format("delta").load(table).count() == len(WRITERS) * COMMITS_PER_WRITER
    versions = sorted(r.version for r in spark.sql(f"DESCRIBE HISTORY delta.`{table}`").collect())
    assert versions == list(range(len(WRITERS) * COMMITS_PER_WRITER + 1))
