"""An ingest killed with SIGKILL while it writes re-runs to exactly the tables of an undisturbed run."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from flowlake.bronze.ingest import run_bronze
from flowlake.config import load_config
from flowlake.progress import Progress
from tests.conftest import write_config
from tests.integration.test_bronze_ingest import rows

pytestmark = pytest.mark.integration
RUN_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)


def kill_during_load(config_path: Path, delay: float) -> None:
    """Start `flowlake run`, wait until it begins writing, then SIGKILL it and its JVM."""
    cli = Path(sys.executable).parent / "flowlake"
    job = subprocess.Popen([str(cli), "run", "--config", str(config_path), "--stages", "bronze"],
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 600
    for line in job.stderr:
        if "] load ..." in line:
            time.sleep(delay)
            break
        assert time.monotonic() < deadline, "the job never reached its load stage"
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()


def test_ingest_killed_mid_write_reruns_to_the_same_tables(spark, tmp_path, generated):
    raw, _ = generated
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    for folder in (reference_dir, killed_dir):
        shutil.copytree(raw, folder / "raw")
    reference = load_config(write_config(reference_dir))
    killed = load_config(write_config(killed_dir))
    run_bronze(spark, reference, RUN_TIME, Progress("test"))

    kill_during_load(Path(killed.path), delay=random.Random(7).uniform(0.5, 4.0))
    run_bronze(spark, killed, RUN_TIME, Progress("test"))

    def comparable(config, table):
        root = config.raw_uri[len("file://"):]
        return [{k: (v.replace(root, "<raw>") if k == "source_object" else v) for k, v in r.items()
                 if k != "ingested_at"} for r in rows(spark, config, table)]
    for table in ("flows", "dns", "quarantine"):
        assert comparable(killed, table) == comparable(reference, table)
    manifest = [r["source_object"].replace(killed.raw_uri[len("file://"):], "<raw>")
                for r in rows(spark, killed, "ingested_files", order=("source_object",))]
    assert manifest == [r["source_object"].replace(reference.raw_uri[len("file://"):], "<raw>")
                        for r in rows(spark, reference, "ingested_files", order=("source_object",))]
