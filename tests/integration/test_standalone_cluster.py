"""The pipeline on a Spark standalone cluster gives the same tables as local mode.

`infra/spark-cluster.sh` starts a master and one 2-core worker on 127.0.0.1; three generated
days land in the local S3 server; the jobs run one after the other with spark-submit against
`spark://127.0.0.1:<port>`, reading the raw dumps through s3a://, as `flowlake_ingest` runs
them. The executors run an interpreter that has flowlake's dependencies but not flowlake: the
package reaches them only as a zip through --py-files (`spark.py_files`), and the cluster's
environment holds no S3 credentials, so they come from the job. The tables built in this
process's local session from the same raw objects must equal them row for row. The cluster is
stopped at the end, by its recorded PIDs, and its ports are free.

`make test` runs bronze on the cluster (the executors import flowlake from the zip, parse in
Python workers, read s3a:// and write Delta): about a minute. The whole chain, bronze, silver
and gold, is marked `cluster_chain` and runs in `make test-cluster` (ten minutes on 2 cores:
silver alone runs some 200 short stages, each a round trip to the executor).

Run alone: `FLOWLAKE_SPARK_MASTER_PORT=7177 .venv/bin/python -m pytest tests/integration/test_standalone_cluster.py`
(the other cluster ports are FLOWLAKE_SPARK_{MASTER_UI,WORKER,WORKER_UI}_PORT, see the script).
"""

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.request import urlopen

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from flowlake.config import load_config
from flowlake.generate.dumps import generate
from flowlake.gold.build import GOLD_TABLES
from flowlake.progress import Progress
from flowlake.session import spark_submit_args
from flowlake.storage import s3_client
from tests.conftest import ROOT, port_bound, write_config

pytestmark = pytest.mark.integration

CLUSTER_SCRIPT = ROOT / "infra" / "spark-cluster.sh"
PORTS = {"FLOWLAKE_SPARK_MASTER_PORT": "7077", "FLOWLAKE_SPARK_MASTER_UI_PORT": "7080",
         "FLOWLAKE_SPARK_WORKER_PORT": "7078", "FLOWLAKE_SPARK_WORKER_UI_PORT": "7081"}
CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "FLOWLAKE_S3_ENDPOINT")


def cluster_ports() -> dict[str, int]:
    return {name: int(os.environ.get(name, default)) for name, default in PORTS.items()}


@contextmanager
def standalone_cluster():
    """The cluster from infra/, started without the test's S3 credentials in its environment;
    yields the master URL and stops it by its recorded PIDs on the way out."""
    env = {key: value for key, value in os.environ.items() if key not in CREDENTIALS}
    started = subprocess.run([str(CLUSTER_SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=300)
    try:
        assert started.returncode == 0, started.stderr
        yield started.stdout.strip()
    finally:
        subprocess.run([str(CLUSTER_SCRIPT), "stop"], env=env, check=True, timeout=300)


def package_zip(folder: Path) -> Path:
    """jobs/flowlake as a zip for --py-files: sources and package data, no bytecode."""
    path = folder / "flowlake.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted((ROOT / "jobs" / "flowlake").rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                archive.write(file, file.relative_to(ROOT / "jobs"))
    return path


def python_without_flowlake(folder: Path) -> Path:
    """An interpreter that imports the venv's packages (pyspark, pyarrow, great_expectations...)
    but not flowlake, as on a cluster node where only the dependencies are installed.

    A venv of the same base Python whose one .pth names the project venv's site-packages: that
    directory's own .pth files, among them flowlake's editable install, are not processed.
    """
    home = folder / "executor-python"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(home)], check=True)
    site_packages = Path(sysconfig.get_paths(vars={"base": str(home), "platbase": str(home)})["purelib"])
    (site_packages / "flowlake-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = home / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import pyarrow, pyspark, flowlake"], capture_output=True, text=True)
    assert "No module named 'flowlake'" in probe.stderr, probe.stderr
    return python


def table_rows(spark, config, tables: list[tuple[str, str]]) -> dict[str, list]:
    """Every row of every table, sorted; doubles rounded, since a sum's last bits depend on how
    the rows were partitioned. The run's clock (`ingested_at`) is left out."""
    found = {}
    for layer, name in tables:
        df = spark.read.format("delta").load(config.table_uri(layer, name)).drop("ingested_at")
        columns = [F.round(F.col(f.name), 9).alias(f.name) if isinstance(f.dataType, T.DoubleType) else F.col(f.name)
                   for f in df.schema.fields]
        found[f"{layer}.{name}"] = sorted(df.select(columns).collect(), key=str)
    return found


# The stages in the order flowlake_ingest runs them, and the tables compared.
JOBS = [("bronze", [("bronze", "flows"), ("bronze", "dns"), ("bronze", "ingested_files")]),
        ("silver", [("silver", "flows")]),
        ("gold", [("gold", name) for name in GOLD_TABLES])]


def run_on_cluster_and_locally(spark, s3_endpoint, tmp_path, jobs):
    """Run `jobs` on the cluster and in this process on the same raw objects; assert their
    tables are equal and that the master ran them."""
    from flowlake.bronze.ingest import run_bronze
    from flowlake.gold.build import run_gold
    from flowlake.silver.build import run_silver

    runners = {"bronze": run_bronze, "silver": run_silver, "gold": run_gold}
    raw_uri = f"s3a://cluster-test-{len(jobs)}/raw"
    for folder in ("local", "cluster"):
        (tmp_path / folder).mkdir()
    local = load_config(write_config(tmp_path / "local", raw_uri=raw_uri))
    s3_client(local.s3).create_bucket(Bucket=f"cluster-test-{len(jobs)}")
    truth = generate(local, date(2017, 7, 1), date(2017, 7, 3), 200, 17, Progress("test"))

    run_time = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for stage, _ in jobs:
        runners[stage](spark, local, run_time, Progress("test"))

    ports = cluster_ports()
    with standalone_cluster() as master:
        assert master == f"spark://127.0.0.1:{ports['FLOWLAKE_SPARK_MASTER_PORT']}"
        # The worker runs on this machine, so Spark's jars are on its node already.
        spark_settings = {"master": master, "driver_memory": "1g", "py_files": str(package_zip(tmp_path)),
                          "executor_python": str(python_without_flowlake(tmp_path)), "jars_on_nodes": True}
        cluster = load_config(write_config(tmp_path / "cluster", raw_uri=raw_uri, spark=spark_settings))
        bin_dir = Path(sys.executable).parent
        # The driver runs here and finds the suites in the checkout; flowlake itself it imports
        # from the zip, which spark-submit puts first on its path.
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
               "FLOWLAKE_EXPECTATIONS_DIR": str(ROOT / "expectations")}
        for stage, _ in jobs:
            done = subprocess.run([str(bin_dir / "spark-submit"), *spark_submit_args(cluster),
                                   str(ROOT / "jobs" / "run_stage.py"), "--stage", stage, "--config", cluster.path],
                                  env=env, capture_output=True, text=True, timeout=1200, cwd=tmp_path)
            output = done.stdout + done.stderr
            assert done.returncode == 0, f"{stage} on {master}:\n{output[-4000:]}"
            if stage == "bronze":
                assert f"this run: {truth['records']:,} flows" in output
        # The master ran them, not a local JVM.
        with urlopen(f"http://127.0.0.1:{ports['FLOWLAKE_SPARK_MASTER_UI_PORT']}/json/") as response:
            applications = json.load(response)["completedapps"]
        assert sorted(a["name"] for a in applications) == sorted(f"flowlake-{stage}" for stage, _ in jobs)
    for port in ports.values():
        assert not port_bound(port), f"port {port} still open after spark-cluster.sh stop"

    tables = [table for _, compared in jobs for table in compared]
    on_cluster, in_local_mode = table_rows(spark, cluster, tables), table_rows(spark, local, tables)
    assert all(in_local_mode.values()), {name: len(rows) for name, rows in in_local_mode.items()}
    for name in in_local_mode:
        assert on_cluster[name] == in_local_mode[name], name


def test_bronze_on_standalone_cluster_matches_local_mode(spark, s3_endpoint, tmp_path):
    run_on_cluster_and_locally(spark, s3_endpoint, tmp_path, JOBS[:1])


@pytest.mark.cluster_chain
def test_pipeline_on_standalone_cluster_matches_local_mode(spark, s3_endpoint, tmp_path):
    run_on_cluster_and_locally(spark, s3_endpoint, tmp_path, JOBS)
