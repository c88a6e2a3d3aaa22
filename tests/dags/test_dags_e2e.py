"""The DAGs end to end with dag.test(): generated dumps in the local S3 server, real Spark jobs
through spark-submit, gold rows checked against the generator's ground truth, reports mailed to
the local SMTP server, maintenance on the tables the ingest built, a failure alert by mail, and no
secret in anything those runs produced. (The reports run the gold Assets trigger needs the
scheduler, which dag.test() does not run: tests/dags/test_make_airflow.py runs it, through `make demo`.)"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from flowlake.config import load_config
from flowlake.generate.dumps import generate
from flowlake.progress import Progress
from flowlake.stages import TABLES
from flowlake.storage import s3_client, split_s3, write_object
from tests.conftest import write_config

# `make test` runs the ingest, the reports, the failure alert and the secret-leak scan;
# the tests marked dag_runs run in `make test-dags` only, with the rest of the module.
pytestmark = pytest.mark.integration
FIRST, LAST = date(2017, 7, 29), date(2017, 7, 31)  # Saturday to Monday: a week and a month end
ANALYST = "analysts@flowlake.test"


def utc(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def lake(s3_endpoint, airflow_db, tmp_path_factory):
    """Three days of dumps in the local S3 server, plus one unreadable object, and a config."""
    folder = tmp_path_factory.mktemp("dags")
    bucket = "flowlake-dags"
    path = write_config(folder, raw_uri=f"s3a://{bucket}/raw", reports_uri=f"s3a://{bucket}/reports",
                        # reproducible_days 0: the reports delivered today pin nothing as of tomorrow,
                        # so VACUUM may delete every file no current version references.
                        maintenance={"vacuum_retention_hours": 0, "quarantine_retention_days": 0,
                                     "reproducible_days": 0},
                        reports={"recipients": [ANALYST], "allowed_recipients": ["@flowlake.test"],
                                 "sender": "reports@flowlake.test"})
    config = load_config(path)
    s3_client(config.s3).create_bucket(Bucket=bucket)
    truth = generate(config, FIRST, LAST, 1500, 3, Progress("test"))
    # A truncated gzip: bronze quarantines it whole and goes on; maintenance expires that row.
    write_object(f"{config.raw_uri}/flows/pyongyang/{FIRST}-truncated.csv.gz", b"\x1f\x8b\x08\x00broken", config.s3)
    return config, truth


def run_dag(dagbag, dag_id: str, logical_date: datetime | None, **conf):
    dag = dagbag.dags[dag_id]
    run = dag.test(logical_date=logical_date, run_conf=conf)
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    return run, states


def versions(spark, config) -> dict[str, int]:
    from delta.tables import DeltaTable

    return {f"{layer}.{table}": DeltaTable.forPath(spark, config.table_uri(layer, table)).history(1).collect()[0].version
            for layer, table in TABLES}


@pytest.fixture(scope="module")
def ingested(lake, dagbag):
    config, truth = lake
    # The run at 2017-07-31 00:00 covers 2017-07-30; bronze takes every landed object.
    run, states = run_dag(dagbag, "flowlake_ingest", utc(LAST), config=config.path)
    return run, states


def test_ingest_builds_gold_from_the_dumps_in_object_storage(spark, lake, ingested):
    config, truth = lake
    run, states = ingested
    assert run.state == "success", states
    assert set(states.values()) == {"success"}
    assert {task for task, _ in states} == {"job_settings", "wait_for_raw_dumps", "bronze", "silver", "gold",
                                            "publish_gold"}
    silver = spark.read.format("delta").load(config.table_uri("silver", "flows"))
    assert silver.count() == truth["flows"]
    usage = spark.read.format("delta").load(config.table_uri("gold", "service_usage_daily"))
    by_day = {r.day: r.flows for r in usage.groupBy("day").sum("flows").withColumnRenamed("sum(flows)", "flows").collect()}
    started = silver.where("direction <> 'inbound'")
    silver_by_day = {r.day: r["sum(flows)"] for r in started.groupBy("day").sum("flows").collect()}
    assert by_day == silver_by_day
    assert {d.isoformat(): n for d, n in by_day.items()} == truth["usage_flows_by_day"]
    assert {FIRST, FIRST + timedelta(days=1), LAST} <= set(by_day)
    presence = spark.read.format("delta").load(config.table_uri("gold", "overseas_presence"))
    assert {r.period_start for r in presence.select("period_start").distinct().collect()} == {date(2017, 7, 1)}
    quarantine = spark.read.format("delta").load(config.table_uri("bronze", "quarantine"))
    assert quarantine.where("source_object LIKE '%truncated.csv.gz'").count() == 1


def test_ingest_publishes_the_gold_assets_with_the_days_it_covered(ingested):
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    run, _ = ingested
    with create_session() as session:
        events = session.query(AssetEvent).filter(AssetEvent.source_run_id == run.run_id).all()
        published = {(event.asset.name, event.extra["first_day"], event.extra["last_day"]) for event in events}
    assert published == {(f"gold.{t}", "2017-07-30", "2017-07-30") for t in
                         ("service_usage_daily", "country_activity_daily", "crypto_activity_daily",
                          "crypto_contacts_daily", "served_daily", "overseas_presence")}


@pytest.mark.dag_runs
def test_rerunning_the_day_changes_no_table(spark, lake, ingested, dagbag):
    config, _ = lake
    before = versions(spark, config)
    run, states = run_dag(dagbag, "flowlake_ingest", utc(LAST), config=config.path)
    assert run.state == "success", states
    assert versions(spark, config) == before


def test_reports_are_rendered_to_object_storage_and_mailed(lake, ingested, dagbag, smtp_maildir):
    config, _ = lake
    already = set(smtp_maildir.keys())
    run, states = run_dag(dagbag, "flowlake_reports", None, config=config.path,
                          first_day=FIRST.isoformat(), last_day=LAST.isoformat())
    assert run.state == "success", states
    rendered = sorted(index for (task, index), state in states.items() if task == "render_and_deliver")
    assert rendered == [0, 1, 2] and all(s == "success" for s in states.values())

    # Each report once, for the newest period ending in the window: July (the trend's six months).
    windows = {"trend": "2017-02-01_2017-07-31", "overseas": "2017-07-01_2017-07-31",
               "crypto": "2017-07-01_2017-07-31"}
    messages = [smtp_maildir[key] for key in set(smtp_maildir.keys()) - already]
    subjects = sorted(m["Subject"] for m in messages)
    assert subjects == sorted(f"flowlake {name} report, {window.replace('_', ' to ')}"
                              for name, window in windows.items())
    for message in messages:
        assert message["To"] == ANALYST
        assert any(part.get_content_type() == "text/html" for part in message.walk())
        assert any(part.get_filename() and part.get_filename().endswith(".csv") for part in message.walk())

    bucket, prefix = split_s3(config.reports_uri)
    keys = {o["Key"] for o in s3_client(config.s3).list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])}
    for name, window in windows.items():
        assert f"{prefix}/{name}/{window}/report.html" in keys, (name, sorted(keys))


def data_files(table_uri: str) -> list[Path]:
    """The table's data files on disk, referenced or not (not its log or change data)."""
    root = Path(table_uri.removeprefix("file://"))
    return [p for p in root.rglob("*.parquet") if not any(part.startswith("_") for part in p.relative_to(root).parts)]


@pytest.mark.dag_runs
def test_maintenance_compacts_vacuums_expires_quarantine_and_sums_up(spark, lake, ingested, dagbag, capfd, caplog):
    """flowlake_maintenance on the tables the ingest built, with retention 0 (hours and days):
    OPTIMIZE compacts a gold table written as many small files to one (gold is not partitioned),
    VACUUM deletes every file no current version references, the quarantine row is expired, the
    summary gives each table's files and size, and no row changes."""
    from delta.tables import DeltaTable

    config, _ = lake
    usage_path, quarantine_path = config.table_uri("gold", "service_usage_daily"), config.table_uri("bronze", "quarantine")
    usage = spark.read.format("delta").load(usage_path)
    rows = sorted(usage.collect())
    # The same rows again as several files: the previous version's files are unreferenced now.
    usage.repartition(4).write.format("delta").mode("overwrite").save(usage_path)
    fragmented = DeltaTable.forPath(spark, usage_path).detail().collect()[0].numFiles
    assert fragmented > 1 and len(data_files(usage_path)) > fragmented
    assert spark.read.format("delta").load(quarantine_path).count() == 1

    # As of tomorrow: with 0 days' retention every quarantine row is older than that.
    tomorrow = utc(datetime.now(timezone.utc).date() + timedelta(days=1))
    run, states = run_dag(dagbag, "flowlake_maintenance", tomorrow, config=config.path)
    assert run.state == "success", states

    assert sorted(spark.read.format("delta").load(usage_path).collect()) == rows
    compacted = DeltaTable.forPath(spark, usage_path)
    optimize = [h.operationMetrics for h in compacted.history().collect() if h.operation == "OPTIMIZE"]
    assert optimize and int(optimize[0]["numRemovedFiles"]) == fragmented and int(optimize[0]["numAddedFiles"]) == 1
    assert compacted.detail().collect()[0].numFiles == 1
    for layer, table in TABLES:
        path = config.table_uri(layer, table)
        referenced = DeltaTable.forPath(spark, path).detail().collect()[0].numFiles
        assert len(data_files(path)) == referenced, f"{layer}.{table}: unreferenced files left by VACUUM"
    assert spark.read.format("delta").load(quarantine_path).count() == 0

    printed = "".join(capfd.readouterr()) + caplog.text
    assert "quarantine rows expired: 1;" in printed
    assert f"vacuumed {len(TABLES)} tables, retention 0h" in printed
    # table, files, MiB, compaction (files removed -> added)
    assert re.search(rf"gold\.service_usage_daily +1 +\d+\.\d\d  {fragmented} -> 1", printed), printed[-3000:]


def test_a_failed_task_mails_an_alert_through_smtp_default(airflow_db, dagbag, smtp_maildir, tmp_path):
    dag = dagbag.dags["flowlake_maintenance"]
    for task in dag.tasks:
        task.retries = 0
    already = set(smtp_maildir.keys())
    run, states = run_dag(dagbag, "flowlake_maintenance", utc(date(2017, 7, 30)),
                          config=str(tmp_path / "missing.yaml"))
    assert run.state == "failed" and states[("job_settings", -1)] == "failed"
    alerts = [smtp_maildir[key] for key in set(smtp_maildir.keys()) - already]
    assert len(alerts) == 1
    assert alerts[0]["To"] == "oncall@flowlake.test"
    assert alerts[0]["Subject"].startswith("[flowlake] flowlake_maintenance.job_settings failed")


def readable(path: Path) -> bytes:
    """A file's bytes as a reader would see them: gzip and Parquet opened, the rest as is."""
    data = path.read_bytes()
    if data.startswith(b"\x1f\x8b"):
        # As far as it decompresses: the generated dumps include a truncated one on purpose.
        return zlib.decompressobj(wbits=zlib.MAX_WBITS | 16).decompress(data)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return "\n".join(map(str, pq.read_table(path).to_pylist())).encode()
    return data


def leaks(paths: list[Path], secrets: list[tuple[str, str]]) -> list[str]:
    """`file:line: which secret` for every line of every file under `paths` holding a secret."""
    found = []
    for root in paths:
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if not path.is_file():
                continue
            for number, line in enumerate(readable(path).split(b"\n"), start=1):
                found += [f"{path}:{number}: {name}" for name, value in secrets if value.encode() in line]
    return found


def test_no_secret_in_anything_the_runs_produced(lake, ingested, tmp_path):
    """The S3 secret key, the SMTP password and the pseudonyms' key (unique to this test run,
    tests/conftest.py; the mailed reports use it)
    appear nowhere in what the DAG runs above produced: Airflow's task logs and metadata
    database, what the tests printed and logged, the config and warehouse, every object in the
    bucket (dumps, reports, delivery records), the delivered mail, the local servers' logs.
    Spark writes no event log here (spark.eventLog.enabled is off)."""
    from tests.conftest import ROOT, S3_PORT, SMTP_PORT
    from tests.dags.conftest import AIRFLOW_HOME, CAPTURED_OUTPUT

    config, _ = lake
    names = ["AWS_SECRET_ACCESS_KEY", "FLOWLAKE_SMTP_PASSWORD", "FLOWLAKE_PSEUDONYM_KEY"]
    secrets = [(name, os.environ[name]) for name in names if os.environ.get(name)]
    assert [name for name, _ in secrets] == names
    client = s3_client(config.s3)
    bucket, _ = split_s3(config.raw_uri)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", ()):
            copy = tmp_path / "bucket" / item["Key"]
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
    outputs = [AIRFLOW_HOME, Path(config.path).parent, tmp_path / "bucket", ROOT / ".run" / f"smtp-{SMTP_PORT}",
               ROOT / ".run" / f"s3-server-{S3_PORT}.log", ROOT / ".run" / f"smtp-server-{SMTP_PORT}.log"]
    # dag.test() writes the task logs to the console, where pytest captures them for conftest.
    assert "flowlake-bronze" in CAPTURED_OUTPUT.read_text(), "no task log to check"
    assert any((tmp_path / "bucket" / "reports").rglob("report.html")), "no report to check"

    # The check finds a secret where one is, compressed or not.
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "log.txt").write_text(f"one\ntwo {secrets[1][1]}\n")
    (planted / "x.gz").write_bytes(gzip.compress(secrets[0][1].encode()))
    assert leaks([planted], secrets) == [f"{planted}/log.txt:2: FLOWLAKE_SMTP_PASSWORD",
                                         f"{planted}/x.gz:1: AWS_SECRET_ACCESS_KEY"]
    assert leaks(outputs, secrets) == []
