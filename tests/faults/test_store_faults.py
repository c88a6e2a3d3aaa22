"""S3 failing while a Delta commit is written, on an s3a:// warehouse; the run again converges.

Each trial puts a warehouse on the local S3 server behind `FailingStore` (tests/faults/
failing_store.py, a proxy that fails the PUTs of Delta commit files on demand), holding the
layers before the stage under test (copied from the reference lake). It aims at one of the
stage's commits in the undisturbed reference run, drawn uniformly, and from that commit on the
store fails: it refuses the PUT (503, nothing written) or loses the reply (the commit written,
the writer told nothing), the mode drawn too. The stage must fail; once the store has
recovered, a run of every stage must leave every table equal to the reference, row for row,
with no flow lost or held twice against the ground truth. Each of bronze, silver and gold
gets FLOWLAKE_FAULT_TRIALS trials.
"""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path

import boto3
import pytest

from flowlake.storage import local_path
from tests.faults.conftest import build_lake, lake_config
from tests.faults.failing_store import COMMIT_KEY, MODES, FailingStore
from tests.faults.harness import TRIALS, commit_log, convergence, record_result, trial_seed

pytestmark = [pytest.mark.integration, pytest.mark.faults]
PROXY_PORT = 10033
# Per stage, the layers its warehouse starts with.
STAGES = {"bronze": (), "silver": ("bronze",), "gold": ("bronze", "silver")}
# S3A retries a failed request with pauses for minutes before it gives up; for the trial's
# bucket it gives up after one retry, so the stage fails while the store still fails.
FEW_RETRIES = {"retry.limit": "1", "retry.interval": "100ms", "retry.throttle.limit": "1",
               "retry.throttle.interval": "100ms", "attempts.maximum": "1"}


@pytest.fixture(scope="module")
def failing_store(s3_endpoint):
    with FailingStore(s3_endpoint, PROXY_PORT) as store:
        yield store


def upload(client, bucket: str, folder: Path, prefix: str) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(folder)}")


def stored_commits(client, bucket: str, warehouse: str, layer: str) -> set[str]:
    """The Delta commits of `layer` under s3://bucket/warehouse/, as `layer/table@version`."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{warehouse}/{layer}/")
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    return {f"{key.removeprefix(warehouse + '/').split('/_delta_log/')[0]}@{int(key[-25:-5])}"
            for key in keys if COMMIT_KEY.search(f"/{key}")}


@pytest.mark.parametrize("trial", range(TRIALS))
@pytest.mark.parametrize("stage", STAGES)
def test_s3_failing_during_a_delta_commit_fails_the_stage_and_the_rerun_converges(
        spark, fault_lake, failing_store, s3_endpoint, tmp_path, stage, trial):
    started = time.monotonic()
    seed = trial_seed(f"s3 commit {stage}", trial)
    rng = random.Random(seed)
    reference = [c.name for c in commit_log(local_path(fault_lake.config.warehouse_uri), (stage,))]
    aim, mode = rng.randrange(len(reference)), rng.choice(MODES)

    client = boto3.client("s3", endpoint_url=s3_endpoint)
    bucket = f"commit-faults-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    hadoop.set(f"fs.s3a.bucket.{bucket}.endpoint", failing_store.endpoint)
    for key, value in FEW_RETRIES.items():
        hadoop.set(f"fs.s3a.bucket.{bucket}.{key}", value)
    config = lake_config(tmp_path, fault_lake.raw, warehouse_uri=f"s3a://{bucket}/warehouse")
    for layer in STAGES[stage]:
        upload(client, bucket, local_path(fault_lake.config.warehouse_uri) / layer, f"warehouse/{layer}")

    failing_store.fail_from(f"/{bucket}/warehouse/{stage}/", aim, mode)
    try:
        with pytest.raises(Exception) as failure:
            build_lake(spark, config, (stage,))
    finally:
        failing_store.recover()
    failed = failing_store.failed[:1]
    on_store = stored_commits(client, bucket, "warehouse", stage)
    before_failure = [name for name in reference if name in on_store]
    replay = (f"seed {seed}: {stage}'s commit {aim} of {len(reference)} {mode} ({failed}), "
              f"{len(before_failure)} commits on the store after the failure")

    build_lake(spark, config)
    figures = convergence(spark, config, fault_lake.rows, fault_lake.truth)
    record_result("S3 failing during a Delta commit", trial=trial, seed=seed, stage=stage, store_failure=mode,
                  aimed_at=aim, stage_commits=len(reference), failed_commit=failed,
                  commits_before_failure=len(before_failure),
                  failure=type(failure.value).__name__, seconds=round(time.monotonic() - started, 1), **figures)
    assert failed, f"{replay}: the store failed no commit"
    # Refused, the aimed commit is not written; with its reply lost, it is.
    assert len(before_failure) == aim + (mode == "reply lost"), replay
    assert figures["tables_equal"], f"{replay}: {figures['differences']}"
    assert (figures["rows_lost"], figures["duplicates"]) == (0, 0), f"{replay}: {figures}"
