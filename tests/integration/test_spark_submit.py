"""The bronze stage runs as a Spark application through spark-submit (`jobs/run_stage.py`) with
flowlake's settings, then silver and gold, where none of the test and bench extras' packages can
be imported (tests/without_test_packages): what a production host has."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from flowlake.config import load_config
from flowlake.generate.dumps import generate
from flowlake.progress import Progress
from flowlake.session import spark_submit_args
from tests.conftest import ROOT, write_config

pytestmark = pytest.mark.integration


def test_the_stages_run_under_spark_submit_without_the_test_packages(tmp_path):
    config = load_config(write_config(tmp_path))
    truth = generate(config, date(2017, 7, 1), date(2017, 7, 1), 500, 2, Progress("test"))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT / "tests" / "without_test_packages")}
    done = subprocess.run([str(bin_dir / "spark-submit"), *spark_submit_args(config),
                           str(ROOT / "jobs" / "run_stage.py"), "--stage", "bronze", "--config", config.path],
                          env=env, capture_output=True, text=True, timeout=600)
    # spark-submit's Python runner merges the job's stderr into its stdout.
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert f"this run: {truth['records']:,} flows" in output
    assert config.table_uri("bronze", "flows") in output

    # The reports' own imports (matplotlib, ruptures, jinja2) are checked by tests/unit/test_imports.py.
    rest = subprocess.run([str(bin_dir / "flowlake"), "run", "--config", config.path, "--stages", "silver,gold"],
                          env=env, capture_output=True, text=True, timeout=900)
    assert rest.returncode == 0, rest.stderr[-3000:]
    assert "gold: 1 days" in rest.stderr and config.table_uri("gold", "served_daily") in rest.stderr
