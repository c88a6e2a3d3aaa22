"""
### flowlake_ingest: raw dumps to bronze, silver and gold

Every day at 00:00 UTC, for the day before (the data interval):

1. **job_settings** reads the config: Spark settings, where raw dumps land, the days covered.
2. **wait_for_raw_dumps** defers to the triggerer (no worker slot held, no busy poll) until an
   object of that day (`*<YYYY-MM-DD>*`) is under the config's `raw_uri` in object storage
   (connection `flowlake_s3`; checked every 5 minutes, given up after 20 hours).
3. **bronze**, **silver**, **gold** run the layer jobs with spark-submit (master from the
   `spark_default` connection). Each is its layer's quality gate: the job runs the table's
   Great Expectations suite on the new rows *before* its Delta commit and exits non-zero when
   it fails, so nothing is published and nothing downstream runs. Bronze ingests every object
   not yet in its manifest (a late dump of an older day included); silver and gold rebuild
   exactly the days that changed, so re-running a day changes nothing.
4. **publish_gold** updates the gold tables' Assets, with the days covered in the event's
   extra; `flowlake_reports` is scheduled on them.

**Backfill** (six months of landed dumps in one action): `make backfill FROM=2017-07-01
TO=2017-12-31` triggers one run whose data interval is the whole range (README, "Airflow").
The run parameter `config` names the flowlake config (default: `FLOWLAKE_CONFIG`).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.sdk import DAG, CronTriggerTimetable, task

from flowlake_wiring import DEFAULT_ARGS, GOLD_ASSETS, S3_CONN, config_param, job_settings, spark_job

with DAG(
    dag_id="flowlake_ingest",
    # Runs at 00:00 for the day that just ended: the data interval is [day, day + 1).
    schedule=CronTriggerTimetable("0 0 * * *", timezone="UTC", interval=timedelta(days=1)),
    start_date=pendulum.datetime(2017, 7, 1, tz="UTC"),
    catchup=False,
    # Two: a daily run waiting for late dumps must not hold up a backfill or a re-run. Two runs
    # in bronze at once are harmless (each replaces the rows of the objects it ingests).
    max_active_runs=2,
    default_args=DEFAULT_ARGS,
    params=config_param(),
    tags=["flowlake", "ingest", "bronze", "silver", "gold"],
    doc_md=__doc__,
) as dag:
    settings = job_settings("{{ params.config }}")
    wait = S3KeySensor(
        task_id="wait_for_raw_dumps",
        bucket_key="{{ ti.xcom_pull(task_ids='job_settings', key='raw_dumps') }}/"
                   "*{{ ti.xcom_pull(task_ids='job_settings', key='first_day') }}*",
        wildcard_match=True,
        aws_conn_id=S3_CONN,
        deferrable=True,
        poke_interval=300,
        # A timeout fails the run without retrying (and mails the alert); an S3 error is retried.
        timeout=20 * 3600,
    )
    bronze = spark_job("bronze", "bronze", settings)
    silver = spark_job("silver", "silver", settings)
    gold = spark_job("gold", "gold", settings)

    @task(outlets=GOLD_ASSETS)
    def publish_gold(first_day: str, last_day: str, outlet_events=None):
        """Mark the gold tables updated, with the days this run covered."""
        for asset in GOLD_ASSETS:
            outlet_events[asset].extra = {"first_day": first_day, "last_day": last_day}

    settings >> wait >> bronze >> silver >> gold >> publish_gold(settings["first_day"], settings["last_day"])
