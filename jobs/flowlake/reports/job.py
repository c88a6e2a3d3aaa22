"""Render one report from the gold tables and deliver it (files to reports_uri, optional email).

  flowlake report --config C --name trend|overseas|crypto --as-of D [--email] [--resend]
  spark-submit $(flowlake submit-args --config C) jobs/flowlake/reports/job.py --config C --name N --as-of D

`flowlake run --stages ...,reports` renders all three as of gold's last day, without mail.

Extract reads the gold rows of the report's window (`flowlake.reports.windows`), and for the
trend silver's flows of the window (weekday-by-hour, distinct hosts, and bytes per host, day
and category for the bootstrap intervals), for the overseas report silver's rows the presence
rule counts (per host, day and country, for the activity ratios' intervals), with the Delta
versions read. Transform is the report's pure builder (`trend`, `overseas`, `crypto`), after
internal addresses are pseudonymised when `reports.pseudonymise` is on (`pseudonyms`); every
report then gets its coverage (`coverage`: how much of its bytes were unclassified, ambiguous
or estimated from sampling, from gold.service_usage_daily). Validate
refuses an empty window and shares that do not add up. Load is `flowlake.reports.deliver`.
"""

from __future__ import annotations

import argparse
from datetime import date, datetime, timezone

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from flowlake.config import Config, load_config
from flowlake.errors import PipelineStopped
from flowlake.gold.aggregates import crypto_period_comparison
from flowlake.gold.build import mining_rule, presence_rule
from flowlake.progress import Progress
from flowlake.gold.aggregates import presence_activity, started_inside
from flowlake.reports.bootstrap import activity_ratio_intervals
from flowlake.reports.coverage import coverage_headline, coverage_section
from flowlake.reports.crypto import build_crypto_report
from flowlake.reports.deliver import deliver
from flowlake.reports.document import Report
from flowlake.reports.overseas import build_overseas_report
from flowlake.reports.pseudonyms import pseudonym_key, pseudonymised
from flowlake.reports.trend import build_trend_report, host_day_bytes, monthly_hosts, weekday_hour_activity
from flowlake.silver.catalog import load_catalog
from flowlake.reports.windows import REPORT_NAMES, ReportWindow, report_window
from flowlake.session import writing_session
from flowlake.tables import PROPERTY_PREFIX, table_exists, table_properties, table_version

# Every report reads service_usage_daily too, for its coverage figures.
TABLES = {"trend": (("gold", "service_usage_daily"), ("silver", "flows"), ("gold", "served_daily")),
          "overseas": (("gold", "overseas_presence"), ("gold", "service_usage_daily"), ("silver", "flows")),
          "crypto": (("gold", "crypto_activity_daily"), ("gold", "service_usage_daily"),
                     ("gold", "crypto_contacts_daily"))}


class ReportRefused(PipelineStopped):
    """The gold tables cannot support the report asked for; the message says what is missing."""


def read_tables(spark: SparkSession, config: Config, name: str) -> tuple[dict[str, DataFrame], dict[str, str]]:
    """The report's tables at their current versions, and the provenance lines naming them."""
    frames, provenance = {}, {}
    for layer, table in TABLES[name]:
        path = config.table_uri(layer, table)
        if not table_exists(spark, path):
            raise ReportRefused(f"{layer}.{table} does not exist at {path}: run the pipeline before the {name} report")
        version = table_version(spark, path)
        frames[table] = spark.read.format("delta").option("versionAsOf", version).load(path)
        provenance[f"{layer}.{table}"] = f"version {version} ({path})"
    properties = table_properties(spark, config.table_uri(*TABLES[name][0]))
    provenance["service catalog"] = properties.get(f"{PROPERTY_PREFIX}catalog_version", "unknown")
    provenance["public suffix list"] = properties.get(f"{PROPERTY_PREFIX}psl_version", "unknown")
    provenance["geo database"] = properties.get(f"{PROPERTY_PREFIX}geo_version", "unknown")
    provenance["ASN database"] = properties.get(f"{PROPERTY_PREFIX}asn_version", "unknown")
    return frames, provenance


def in_window(df: DataFrame, start: date, end: date, column: str = "day") -> DataFrame:
    return df.where(F.col(column).between(F.lit(start), F.lit(end)))


def build_report(spark: SparkSession, config: Config, window: ReportWindow, run_time: datetime) -> Report:
    """The report of `window`, closing with its coverage (a headline line and a section)."""
    # Read first: with pseudonymisation on and no key, no report is rendered at all.
    key = pseudonym_key(config.reports)
    frames, provenance = read_tables(spark, config, window.name)
    provenance = {"data window": f"{window.start} to {window.end}"
                  + (f", compared with {window.previous_start} to {window.previous_end}" if window.previous_start else ""),
                  **provenance, "generated at": run_time.isoformat(timespec="seconds")}
    usage = in_window(frames["service_usage_daily"], window.start, window.end).toPandas()
    report = report_body(config, window, frames, usage, provenance, key)
    report.headlines.append(coverage_headline(usage))
    report.sections.append(coverage_section(usage))
    return report


def report_body(config: Config, window: ReportWindow, frames: dict[str, DataFrame], usage, provenance: dict[str, str],
                key: bytes | None) -> Report:
    """The report's own headlines and sections, from its tables."""
    settings = config.reports
    if window.name == "trend":
        refuse_empty(usage, window, "gold.service_usage_daily")
        silver = started_inside(in_window(frames["flows"], window.start, window.end))
        served = in_window(frames["served_daily"], window.start, window.end).toPandas()
        report = build_trend_report(window, usage, monthly_hosts(silver).toPandas(),
                                    weekday_hour_activity(silver, settings.local_timezone).toPandas(), served,
                                    host_day_bytes(silver).toPandas(), settings, provenance)
        check_shares(report)
        return report
    if window.name == "overseas":
        presence = frames["overseas_presence"].where(F.col("period_start") == F.lit(window.start)).toPandas()
        refuse_empty(presence, window, "gold.overseas_presence")
        # The month gold's presence row covers, whatever day of it as-of is.
        period_end = presence["period_end"].iloc[0]
        counted = presence_activity(frames["flows"], window.start, period_end, presence_rule(config),
                                    load_catalog().global_infrastructure())
        host_days = counted.groupBy("internal_ip", "day", "country").agg(F.sum("bytes").alias("bytes"),
                                                                         F.sum("flows").alias("flows"))
        intervals = activity_ratio_intervals(host_days.toPandas(), settings.bootstrap_replicates,
                                             settings.bootstrap_seed)
        return build_overseas_report(window, presence, intervals, config.gold, settings, provenance)
    # The crypto report is the one naming internal hosts; the others only count them.
    daily = pseudonymised(frames["crypto_activity_daily"], "internal_ip", key)
    both = in_window(daily, window.start, window.end).unionByName(
        in_window(daily, window.previous_start, window.previous_end))
    comparison = crypto_period_comparison(daily, (window.start, window.end),
                                          (window.previous_start, window.previous_end),
                                          config.gold.crypto_same_tolerance)
    contacts = in_window(pseudonymised(frames["crypto_contacts_daily"], "internal_ip", key), window.start, window.end)
    return build_crypto_report(window, both.toPandas(), comparison.toPandas(), contacts.toPandas(),
                               config.gold.crypto_same_tolerance, mining_rule(config), provenance)


def refuse_empty(rows, window: ReportWindow, table: str) -> None:
    if rows.empty:
        raise ReportRefused(f"{table} has no rows for {window.start} to {window.end}: "
                            f"nothing to report (ingest that period first)")


def check_shares(report: Report) -> None:
    """The trend report's validate step: in each monthly-shares table it renders, a range's
    category shares of a month add up to 1 (rounding aside)."""
    for section in report.sections:
        if section.name.startswith("monthly_shares_"):
            sums = section.table.groupby(["month", "range_name"])["bytes_share"].sum()
            off = sums[(sums - 1).abs() > 0.001]
            if len(off):
                raise ReportRefused(f"{section.title}: category shares do not add up to 1 for {off.to_dict()}")


def run_report(spark: SparkSession, config: Config, name: str, as_of: date, run_time: datetime, email: bool,
               resend: bool, progress: Progress) -> dict:
    window = report_window(name, as_of, config.reports)
    with progress.stage(f"render {name} {window.label}") as stage:
        report = build_report(spark, config, window, run_time)
        stage.done(rows=len(report.sections))
    with progress.stage("deliver") as stage:
        delivery = deliver(config, report, email, resend, progress)
        stage.done(rows=len(delivery["files"]))
    return {"report": report, **delivery}


def run_reports(spark: SparkSession, config: Config, run_time: datetime, progress: Progress) -> dict:
    """The `reports` stage of `flowlake run`: every report as of gold's last day, not mailed
    (the flowlake_reports DAG mails them on their calendar)."""
    path = config.table_uri("gold", "service_usage_daily")
    last_day = spark.read.format("delta").load(path).agg(F.max("day")).first()[0] \
        if table_exists(spark, path) else None
    if last_day is None:
        progress.say("gold is empty: no reports")
        return {}
    return {name: run_report(spark, config, name, last_day, run_time, False, False, progress) for name in REPORT_NAMES}


def summary_lines(spark: SparkSession, config: Config, results: dict) -> list[str]:
    return [f"report {name}: {result['files'][0].rsplit('/', 1)[0]}/report.html" for name, result in results.items()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="flowlake report", description="Render and deliver one report.")
    parser.add_argument("--config", required=True)
    parser.add_argument("--name", required=True, choices=REPORT_NAMES)
    parser.add_argument("--as-of", required=True, type=date.fromisoformat, help="last day the report covers")
    parser.add_argument("--email", action="store_true", help="mail it to reports.recipients (once per period)")
    parser.add_argument("--resend", action="store_true", help="mail it again even if this period was mailed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    config = load_config(args.config)
    progress = Progress("report")
    with writing_session(config, f"flowlake-report-{args.name}", progress) as spark:
        result = run_report(spark, config, args.name, args.as_of, datetime.now(timezone.utc), args.email,
                            args.resend, progress)
    progress.summary([*summary_lines(spark, config, {args.name: result}), f"emailed: {result['emailed']}"])
    return result


if __name__ == "__main__":
    main()
