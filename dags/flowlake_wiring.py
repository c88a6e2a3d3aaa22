"""What the three flowlake DAGs share: default arguments, connections, and the task factories.

Wiring only, light to import: the DAG processor parses this with every DAG file. Nothing here
reads a Connection or Variable when parsed; they are named in templates that render when a task
runs (`{{ conn.flowlake_s3.password }}`), so a secret never sits in a DAG file or its parse.

Connections (for local use the Makefile defines them as AIRFLOW_CONN_* variables):
- `spark_default`: the Spark master, `local[*]` here, a cluster URL in production;
- `flowlake_s3`: the object store (login/password = access key/secret, extra.endpoint_url);
- `smtp_default`: the mail server for the reports and for failure alerts.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import Asset, Param, task

# Table names only: flowlake.stages imports nothing beyond the standard library.
from flowlake.stages import GOLD_TABLES

PROJECT = Path(__file__).resolve().parents[1]
# Every stage is one Spark application: this script with --stage NAME (flowlake.stages).
RUN_STAGE = PROJECT / "jobs" / "run_stage.py"
SPARK_CONN, S3_CONN, SMTP_CONN = "spark_default", "flowlake_s3", "smtp_default"

# The gold tables as Assets: flowlake_ingest publishes them, flowlake_reports is triggered by them.
GOLD_ASSETS = [Asset(name=str(t), uri=f"flowlake://gold/{t.name}", group="gold") for t in GOLD_TABLES]

DEFAULT_ARGS = {
    "owner": "flowlake",
    "retries": 2,
    # 2 min, then 4 min (capped at 30): a flaky store or a busy cluster gets time to recover.
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=30),
    "on_failure_callback": SmtpNotifier(
        smtp_conn_id=SMTP_CONN,
        # Variables only through templates: read when a failure is reported, never at parse time.
        to="{{ var.value.get('flowlake_alert_email', 'flowlake-alerts@localhost') }}",
        from_email="{{ conn.smtp_default.extra_dejson.get('from_email') or 'airflow@localhost' }}",
        subject="[flowlake] {{ ti.dag_id }}.{{ ti.task_id }} failed ({{ ti.run_id }})",
        html_content="<p>{{ ti.dag_id }}.{{ ti.task_id }} failed on try {{ ti.try_number }} of run "
                     "{{ ti.run_id }}.</p><p>Log: {{ ti.log_url }}</p>",
    ),
}


def config_param() -> dict:
    """The `config` run parameter: the flowlake YAML config the jobs read.

    Its default is FLOWLAKE_CONFIG in the DAG processor's environment (infra/airflow.sh sets it),
    else the project's config/flowlake.yaml; a manual run can name another.
    """
    default = os.environ.get("FLOWLAKE_CONFIG", str(PROJECT / "config" / "flowlake.yaml"))
    return {"config": Param(default, type="string", description="path of the flowlake YAML config")}


# The object store's settings reach the Spark job as the environment variables the config names
# by default (README, "Config"), from the flowlake_s3 connection, when the task runs.
S3_ENV = {
    "FLOWLAKE_S3_ENDPOINT": "{{ conn.flowlake_s3.extra_dejson.get('endpoint_url') or '' }}",
    "AWS_ACCESS_KEY_ID": "{{ conn.flowlake_s3.login or '' }}",
    "AWS_SECRET_ACCESS_KEY": "{{ conn.flowlake_s3.password or '' }}",
    "AWS_DEFAULT_REGION": "{{ conn.flowlake_s3.extra_dejson.get('region_name') or 'us-east-1' }}",
}
SMTP_ENV = {
    "FLOWLAKE_SMTP_HOST": "{{ conn.smtp_default.host }}",
    "FLOWLAKE_SMTP_PORT": "{{ conn.smtp_default.port }}",
    "FLOWLAKE_SMTP_USER": "{{ conn.smtp_default.login or '' }}",
    "FLOWLAKE_SMTP_PASSWORD": "{{ conn.smtp_default.password or '' }}",
}


@task(multiple_outputs=True)
def job_settings(config: str, dag_run=None) -> dict:
    """Spark settings from flowlake's one builder (jars, Delta, memory) for the master the
    `spark_default` connection names, where raw dumps land, and the first and last day the run
    covers (`flowlake.periods.run_window`).

    A task, not parse-time code: it reads the config and the connection, and imports pyspark's
    session module.
    """
    from airflow.sdk import BaseHook

    from flowlake.config import load_config
    from flowlake.periods import run_window
    from flowlake.session import spark_conf

    loaded = load_config(config)
    raw = loaded.raw_uri
    first, last = run_window(dag_run.data_interval_start, dag_run.data_interval_end, dag_run.run_after) or (None, None)
    master = BaseHook.get_connection(SPARK_CONN).host or "yarn"  # the Spark provider's default
    return {"spark_conf": spark_conf(loaded, master=master),
            "raw_dumps": "s3://" + raw.split("://", 1)[1] if raw.startswith("s3a://") else raw,
            "first_day": first and first.isoformat(), "last_day": last and last.isoformat()}


def stage_arguments(stage: str, options: list[str] | None = None, config: str = "{{ params.config }}") -> list[str]:
    """`jobs/run_stage.py`'s arguments for `stage` (flowlake.stages): the run's config, as a
    template unless a task passes the value it already has."""
    return ["--stage", stage, "--config", config, *(options or [])]


def spark_job(task_id: str, stage: str, settings, options: list[str] | None = None, env: dict | None = None,
              **kwargs) -> SparkSubmitOperator:
    """A flowlake stage as a Spark application (`jobs/run_stage.py`) with flowlake's settings."""
    return SparkSubmitOperator(
        task_id=task_id, application=str(RUN_STAGE), conn_id=SPARK_CONN, conf=settings["spark_conf"],
        name=f"flowlake-{task_id}", application_args=stage_arguments(stage, options),
        env_vars={**S3_ENV, **(env or {})}, **kwargs)


def mapped_spark_job(task_id: str, settings, application_args, env: dict | None = None, **kwargs):
    """`jobs/run_stage.py` once per argument list in `application_args` (an XCom list, possibly
    empty, of `stage_arguments` lists)."""
    return SparkSubmitOperator.partial(
        task_id=task_id, application=str(RUN_STAGE), conn_id=SPARK_CONN, conf=settings["spark_conf"],
        name=f"flowlake-{task_id}", env_vars={**S3_ENV, **(env or {})}, **kwargs,
    ).expand(application_args=application_args)
