"""The Spark tasks move from local mode to a cluster by configuration alone, no DAG change.

The master comes from the `spark_default` connection, the package zip and the executors'
interpreter from the flowlake config (`spark.py_files`, `spark.executor_python`, which
`job_settings` turns into the tasks' conf, with the jars shipped to a cluster's executors and
only put on the driver's class path in local mode). This builds the spark-submit command the
Spark provider would run for each ingest task, with the connection the README documents for a
standalone cluster; nothing is submitted.
"""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pendulum

from tests.conftest import write_config

CLUSTER_CONNECTION = {"conn_type": "spark", "host": "spark://127.0.0.1", "port": 7077}
JOBS = ("bronze", "silver", "gold")


def submit_commands(dagbag, conf: dict) -> dict[str, list[str]]:
    """Each ingest Spark task's spark-submit command, given the conf job_settings returns."""
    dag = dagbag.dags["flowlake_ingest"]
    commands = {}
    for task_id in JOBS:
        task = copy.copy(dag.get_task(task_id))
        task.conf = conf
        commands[task_id] = task._get_hook()._build_spark_submit_command(task.application)
    return commands


def job_settings_conf(config_path) -> dict:
    """The conf the ingest DAG's job_settings task returns, with the connection now set."""
    from flowlake_wiring import job_settings

    day = pendulum.datetime(2017, 7, 30, tz="UTC")
    run = SimpleNamespace(data_interval_start=day, data_interval_end=day.add(days=1), run_after=day.add(days=1))
    return job_settings.function(str(config_path), dag_run=run)["spark_conf"]


def test_ingest_tasks_submit_to_the_cluster_the_connection_names(dagbag, monkeypatch, tmp_path):
    settings = {"py_files": "/opt/flowlake/flowlake.zip", "executor_python": "/opt/venv/bin/python"}
    config_path = write_config(tmp_path, spark=settings)

    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps(CLUSTER_CONNECTION))
    for task_id, command in submit_commands(dagbag, job_settings_conf(config_path)).items():
        line = " ".join(command)
        assert "--master spark://127.0.0.1:7077" in line, task_id
        assert "--conf spark.submit.pyFiles=/opt/flowlake/flowlake.zip" in line, task_id
        assert "--conf spark.pyspark.python=/opt/venv/bin/python" in line, task_id
        assert "--conf spark.jars=" in line and "delta-spark" in line, task_id
        assert command[-4:] == ["--stage", task_id, "--config", "{{ params.config }}"] \
            and command[-5].endswith("jobs/run_stage.py"), command

    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", json.dumps({"conn_type": "spark", "host": "local[2]"}))
    for task_id, command in submit_commands(dagbag, job_settings_conf(config_path)).items():
        line = " ".join(command)
        assert "--master local[2]" in line, task_id
        assert "--conf spark.driver.extraClassPath=" in line and "spark.jars" not in line, task_id
