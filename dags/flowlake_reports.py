"""
### flowlake_reports: the trend, overseas and crypto reports, rendered and delivered

Runs when `flowlake_ingest` has updated the gold tables (their Assets), and on the report
calendar every day at 06:00 UTC for the day before (nothing, until an ingest has published
gold once). **reports_due** works out the window of days the run covers (the gold events' days, else the data interval, else the run parameters
`first_day`/`last_day`) and, per report, the newest period ending in it: trend and overseas
are monthly, crypto weekly (`flowlake.periods`). Each due report is one Spark
application (`jobs/run_stage.py --stage reports --name N --as-of D --email`) that renders it to
`reports_uri/<name>/<period>/` and mails it through the `smtp_default` connection, whose
settings reach the job as FLOWLAKE_SMTP_* variables when the task runs. Delivering a period
again re-renders it but sends no second mail unless the run parameter `resend` is true.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, AssetOrTimeSchedule, CronTriggerTimetable, Param, task

from flowlake_wiring import (
    DEFAULT_ARGS, GOLD_ASSETS, SMTP_ENV, config_param, job_settings, mapped_spark_job, stage_arguments,
)

with DAG(
    dag_id="flowlake_reports",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 * * *", timezone="UTC", interval=timedelta(days=1)),
        assets=GOLD_ASSETS),
    start_date=pendulum.datetime(2017, 7, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={**config_param(),
            "first_day": Param(None, type=["null", "string"], format="date",
                               description="first day of the window (with last_day; overrides the run's own)"),
            "last_day": Param(None, type=["null", "string"], format="date", description="last day of the window"),
            "resend": Param(False, type="boolean", description="mail reports already delivered again")},
    tags=["flowlake", "reports"],
    doc_md=__doc__,
) as dag:
    settings = job_settings("{{ params.config }}")

    @task(inlets=GOLD_ASSETS[:1])
    def reports_due(run_first_day: str | None, run_last_day: str | None, params=None,
                    triggering_asset_events=None, inlet_events=None) -> list[list[str]]:
        """The job arguments of each report with a period due in this run's window."""
        from datetime import date

        from flowlake.periods import due_reports, events_window

        # Before the first ingest published gold, a calendar run's reports could only fail on
        # missing tables, retrying for minutes while asset-triggered runs wait behind it
        # (max_active_runs=1): nothing is due yet. Every ingest publishes every gold Asset.
        if not triggering_asset_events and not len(inlet_events[GOLD_ASSETS[0]].limit(1)):
            print("gold has never been published: nothing is due")
            return []
        if params.get("first_day") and params.get("last_day"):
            window = date.fromisoformat(params["first_day"]), date.fromisoformat(params["last_day"])
        else:
            extras = [event.extra for events in (triggering_asset_events or {}).values() for event in events]
            run_days = (date.fromisoformat(run_first_day), date.fromisoformat(run_last_day)) if run_first_day else None
            window = events_window(extras) or run_days
        due = {name: as_of for name, as_of in due_reports(*window).items() if as_of} if window else {}
        print(f"window {window}: due {due or 'nothing'}")
        resend = ["--resend"] if params.get("resend") else []
        return [stage_arguments("reports", ["--name", name, "--as-of", as_of.isoformat(), "--email", *resend],
                                params["config"]) for name, as_of in due.items()]

    # One mapped task instance per due report (none due: the task is skipped), named in the UI
    # by report and period.
    settings >> mapped_spark_job("render_and_deliver", settings,
                                 reports_due(settings["first_day"], settings["last_day"]), env=SMTP_ENV,
                                 map_index_template="{{ task.application_args[5] }} {{ task.application_args[7] }}")
