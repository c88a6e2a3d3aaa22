"""Airflow for the DAG tests: a metadata database of their own, connections from AIRFLOW_CONN_*.

Airflow reads its settings when first imported, so they are set here, before any test imports
it: AIRFLOW_HOME in a fresh temporary folder (SQLite), the project's dags/ folder, and the
three connections the DAGs use, pointing at the local S3 and SMTP servers the tests start
(FLOWLAKE_S3_PORT, FLOWLAKE_SMTP_PORT) and at a local Spark master.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

BIN = Path(sys.executable).parent
DAGS = ROOT / "dags"
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="flowlake-airflow-tests-"))
atexit.register(shutil.rmtree, AIRFLOW_HOME, ignore_errors=True)


def airflow_test_env() -> dict[str, str]:
    """The settings and connections of the DAG tests' Airflow."""
    s3_port = os.environ["FLOWLAKE_S3_PORT"]
    smtp_port = os.environ.get("FLOWLAKE_SMTP_PORT", "8025")
    return {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        # INFO: a failed test shows the Spark job's own output (spark-submit logs it at INFO).
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": "local[2]"}),
        "AIRFLOW_CONN_FLOWLAKE_S3": json.dumps({
            "conn_type": "aws", "login": os.environ["AWS_ACCESS_KEY_ID"],
            "password": os.environ["AWS_SECRET_ACCESS_KEY"],
            "extra": {"endpoint_url": f"http://127.0.0.1:{s3_port}", "region_name": "us-east-1"}}),
        # A password but no login: the local server takes no AUTH, and the password still travels
        # every path a real one would (templates, task environments), for the secret-leak test.
        "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": int(smtp_port),
            "password": os.environ.get("FLOWLAKE_SMTP_PASSWORD") or None,
            "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "airflow@flowlake.test"}}),
        "AIRFLOW_VAR_FLOWLAKE_ALERT_EMAIL": "oncall@flowlake.test",
        # spark-submit (the venv's pyspark) must be on PATH for the Spark provider.
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }


os.environ.update(airflow_test_env())
# The DAG processor puts the DAGs folder on sys.path; dag.test() in this process needs it too.
sys.path.insert(0, str(DAGS))


@pytest.fixture(scope="session")
def airflow_db():
    """The metadata database, migrated once for the session."""
    done = subprocess.run([str(BIN / "airflow"), "db", "migrate"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return AIRFLOW_HOME


@pytest.fixture(scope="session")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


CAPTURED_OUTPUT = AIRFLOW_HOME / "captured-output.log"


def pytest_runtest_logreport(report):
    """Keep what every DAG test printed and logged (pytest captures it and shows it only on
    failure), for the secret-leak test to grep."""
    with CAPTURED_OUTPUT.open("a", encoding="utf-8") as captured:
        for title, text in report.sections:
            captured.write(f"--- {report.nodeid} {title}\n{text}\n")
