"""
### flowlake_maintenance: compaction, VACUUM, housekeeping, table sizes

Every Sunday at 03:00 UTC, one Spark application (`jobs/run_stage.py --stage maintenance`) over every
flowlake table: deletes bronze.quarantine rows older than `maintenance.quarantine_retention_days`
before the run's day, reports manifest entries whose raw object is gone, OPTIMIZEs (compacts)
each table, VACUUMs it with `maintenance.vacuum_retention_hours` from the config, and ends its
log with a summary of every table's rows, files and size.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronTriggerTimetable

from flowlake_wiring import DEFAULT_ARGS, config_param, job_settings, spark_job

with DAG(
    dag_id="flowlake_maintenance",
    schedule=CronTriggerTimetable("0 3 * * 0", timezone="UTC"),
    start_date=pendulum.datetime(2017, 7, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=config_param(),
    tags=["flowlake", "maintenance"],
    doc_md=__doc__,
) as dag:
    settings = job_settings("{{ params.config }}")
    settings >> spark_job("maintain", "maintenance", settings,
                          ["--as-of",
                           # A run triggered without a logical date has no data interval.
                           "{{ (dag_run.data_interval_end or dag_run.run_after) | ds }}"])
