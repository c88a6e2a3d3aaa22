"""Every DAG imports cleanly and is operable: tags, docs, retries with backoff, failure alerts,
nothing read or imported at parse time that belongs in a task, and job files that exist."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.dags.conftest import DAGS

DAG_IDS = {"flowlake_ingest", "flowlake_reports", "flowlake_maintenance"}

# Parses the DAG folder in a fresh interpreter where reading any Connection or Variable raises,
# then reports the import errors and which heavy modules the parse imported.
PARSE_PROBE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from airflow.sdk.execution_time import context
import airflow.sdk.definitions.connection as connection, airflow.sdk.definitions.variable as variable

reads = []
def forbidden(kind):
    def read(*args, **kwargs):
        reads.append(f"{kind} {args[-1] if args else kwargs}")
        raise RuntimeError(f"{kind} read at parse time: {args} {kwargs}")
    return read
context._get_connection = forbidden("connection")
context._get_variable = forbidden("variable")
connection.Connection.get = classmethod(forbidden("connection"))
variable.Variable.get = classmethod(forbidden("variable"))
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"pyspark", "great_expectations", "delta", "pandas", "matplotlib"})
ours = sorted(m for m in sys.modules if m.startswith("flowlake."))
print(json.dumps({"errors": {k: str(v)[-500:] for k, v in bag.import_errors.items()},
                  "dags": sorted(bag.dags), "reads": reads, "heavy": heavy, "flowlake_modules": ours}))
"""


def test_every_dag_imports_with_dag_id_equal_to_its_file_name(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == DAG_IDS
    for dag_id, dag in dagbag.dags.items():
        assert Path(dag.fileloc).stem == dag_id


def test_every_dag_has_tags_docs_explicit_catchup_and_a_utc_start(dagbag):
    for dag in dagbag.dags.values():
        assert "flowlake" in dag.tags and len(dag.tags) >= 2, dag.dag_id
        assert dag.doc_md and dag.dag_id in dag.doc_md, dag.dag_id
        assert dag.catchup is False, dag.dag_id
        assert dag.start_date.tzinfo is not None and dag.start_date.utcoffset().total_seconds() == 0
        assert dag.max_active_runs == (2 if dag.dag_id == "flowlake_ingest" else 1), dag.dag_id


def test_every_task_retries_with_exponential_backoff_and_alerts_by_mail_on_failure(dagbag):
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    for dag in dagbag.dags.values():
        for task in dag.tasks:
            where = f"{dag.dag_id}.{task.task_id}"
            assert task.retries >= 2, where
            assert task.retry_exponential_backoff >= 2, where
            assert task.max_retry_delay is not None, where
            callbacks = task.on_failure_callback if isinstance(task.on_failure_callback, list) else [task.on_failure_callback]
            notifiers = [c for c in callbacks if isinstance(c, SmtpNotifier)]
            assert notifiers and notifiers[0].smtp_conn_id == "smtp_default", where


def test_parsing_reads_no_connection_or_variable_and_imports_nothing_heavy():
    done = subprocess.run([sys.executable, "-c", PARSE_PROBE, str(DAGS)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"] == {} and result["reads"] == []
    assert set(result["dags"]) == DAG_IDS
    assert result["heavy"] == [], "imported at parse time: " + ", ".join(result["heavy"])
    # The table names only: flowlake.stages imports nothing beyond the standard library.
    assert result["flowlake_modules"] == ["flowlake.stages"], "flowlake modules imported at parse time"


def spark_tasks(dag):
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    for task in dag.tasks:
        if getattr(task, "operator_class", type(task)) is SparkSubmitOperator or isinstance(task, SparkSubmitOperator):
            yield task


def application_of(task) -> str:
    return task.partial_kwargs["application"] if hasattr(task, "partial_kwargs") else task.application


def test_spark_tasks_run_job_files_that_exist_on_the_spark_connection_with_the_config_param(dagbag):
    jobs = {}
    for dag in dagbag.dags.values():
        for task in spark_tasks(dag):
            application = Path(application_of(task))
            assert application == DAGS.parent / "jobs" / "run_stage.py", application
            arguments = getattr(task, "application_args", None) or ["--stage", "reports (mapped)"]
            jobs[f"{dag.dag_id}.{task.task_id}"] = arguments[1]
            assert application.is_file(), f"{dag.dag_id}.{task.task_id}: {application} does not exist"
            kwargs = task.partial_kwargs if hasattr(task, "partial_kwargs") else vars(task)
            assert kwargs.get("conn_id", kwargs.get("_conn_id")) == "spark_default"
            assert "{{ params.config }}" in str(getattr(task, "application_args", None)) or hasattr(task, "partial_kwargs")
            env = kwargs["env_vars"]
            assert env["AWS_SECRET_ACCESS_KEY"] == "{{ conn.flowlake_s3.password or '' }}"
    assert jobs == {
        "flowlake_ingest.bronze": "bronze", "flowlake_ingest.silver": "silver", "flowlake_ingest.gold": "gold",
        "flowlake_maintenance.maintain": "maintenance", "flowlake_reports.render_and_deliver": "reports (mapped)",
    }


def test_ingest_waits_for_the_days_dumps_in_deferrable_mode_then_runs_the_layers_in_order(dagbag):
    dag = dagbag.dags["flowlake_ingest"]
    sensor = dag.get_task("wait_for_raw_dumps")
    assert sensor.deferrable and sensor.wildcard_match and sensor.aws_conn_id == "flowlake_s3"
    assert "key='first_day'" in sensor.bucket_key
    order = ["job_settings", "wait_for_raw_dumps", "bronze", "silver", "gold", "publish_gold"]
    for upstream, downstream in zip(order, order[1:]):
        assert downstream in dag.get_task(upstream).downstream_task_ids, (upstream, downstream)
    published = {outlet.name for outlet in dag.get_task("publish_gold").outlets}
    assert published == {"gold.service_usage_daily", "gold.country_activity_daily",
                         "gold.crypto_activity_daily", "gold.crypto_contacts_daily",
                         "gold.served_daily", "gold.overseas_presence"}


def test_reports_run_on_the_gold_assets_and_on_the_calendar_and_mail_through_smtp_default(dagbag):
    dag = dagbag.dags["flowlake_reports"]
    timetable = dag.timetable
    assets = {asset.name for asset in timetable.asset_condition.objects}
    assert assets == {"gold.service_usage_daily", "gold.country_activity_daily",
                      "gold.crypto_activity_daily", "gold.crypto_contacts_daily",
                      "gold.served_daily", "gold.overseas_presence"}
    assert timetable.timetable.expression == "0 6 * * *"
    env = dag.get_task("render_and_deliver").partial_kwargs["env_vars"]
    assert env["FLOWLAKE_SMTP_HOST"] == "{{ conn.smtp_default.host }}"
    assert env["FLOWLAKE_SMTP_PASSWORD"] == "{{ conn.smtp_default.password or '' }}"
