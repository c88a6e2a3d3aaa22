"""Render one report from the gold tables and deliver it (files to reports_uri, optional email).

  flowlake report --config C --name trend|overseas|crypto --as-of D [--email] [--resend]
  spark-submit $(flowlake submit-args --config C) jobs/run_stage.py --stage reports --config C --name N --as-of D
  flowlake report --config C --reproduce FOLDER      (FOLDER: <reports_uri>/<name>/<period>)

`flowlake report --config C` and `flowlake run --stages ...,reports` render all three as of
gold's last day, without mail.

Extract reads the gold rows of the report's window (`flowlake.periods`), and for the
trend silver's flows of the window (weekday-by-hour, distinct hosts, and bytes per host, day
and category for the bootstrap intervals), for the overseas report silver's rows the presence
rule counts (per host, day and country, for the activity ratios' intervals), with the Delta
versions read. Transform is the report's pure builder (`trend`, `overseas`, `crypto`), after
internal addresses are pseudonymised when the report is mailed or `reports.pseudonymise` says so
(`pseudonyms`); every
report then gets its coverage (`coverage`: how much of its bytes were unclassified, ambiguous
or estimated from sampling, from gold.service_usage_daily). Validate
refuses an empty window and shares that do not add up. Load is `flowlake.reports.deliver`.
`--reproduce` renders a delivery again from the versions it recorded (`flowlake.reports.reproduce`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from urllib.parse import unquote

from pydantic import ValidationError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from flowlake.config import Config, GoldSettings, ReportSettings, problem_lines, resolve_uri
from flowlake.errors import OptionsRefused, PipelineStopped
from flowlake.gold.aggregates import crypto_period_comparison
from flowlake.gold.build import mining_rule, presence_rule
from flowlake.progress import Progress
from flowlake.gold.aggregates import presence_activity, started_inside
from flowlake.reports.bootstrap import activity_ratio_intervals
from flowlake.reports.coverage import coverage_headline, coverage_section
from flowlake.reports.crypto import build_crypto_report
from flowlake.reports.deliver import deliver, delivery_folder
from flowlake.reports.document import Report, report_files
from flowlake.reports.overseas import build_overseas_report
from flowlake.reports.reproduce import (
    MANIFEST, REPRODUCED, Manifest, ManifestError, compare_files, parse_manifest, recorded_settings,
)
from flowlake.reports.pseudonyms import pseudonym_key, pseudonymised, pseudonymises
from flowlake.reports.trend import (
    TREND_COLUMNS, build_trend_report, host_day_bytes, monthly_hosts, weekday_hour_activity,
)
from flowlake.silver.service_catalog import configured_catalog
from flowlake.periods import REPORT_NAMES, ReportWindow, report_window
from flowlake.stages import (
    CRYPTO_ACTIVITY_DAILY, CRYPTO_CONTACTS_DAILY, OVERSEAS_PRESENCE, SERVED_DAILY, SERVICE_USAGE_DAILY, SILVER_FLOWS,
)
from flowlake.storage import list_objects, read_object, write_object
from flowlake.tables import PROPERTY_PREFIX, table_exists, table_properties, table_version

# Every report reads service_usage_daily too, for its coverage figures.
TABLES = {"trend": (SERVICE_USAGE_DAILY, SILVER_FLOWS, SERVED_DAILY),
          "overseas": (OVERSEAS_PRESENCE, SERVICE_USAGE_DAILY, SILVER_FLOWS),
          "crypto": (CRYPTO_ACTIVITY_DAILY, SERVICE_USAGE_DAILY, CRYPTO_CONTACTS_DAILY)}


class ReportRefused(PipelineStopped):
    """The gold tables cannot support the report asked for; the message says what is missing."""


def read_tables(spark: SparkSession, config: Config, name: str, pinned: Manifest | None = None
                ) -> tuple[dict[str, DataFrame], dict[str, str], dict[str, tuple[str, int]]]:
    """The report's tables, the provenance lines naming them and the (location, version) of
    each: at their current versions, or at the versions `pinned` recorded."""
    frames, provenance, versions = {}, {}, {}
    for layer, table in TABLES[name]:
        if pinned:
            path, version = pinned_table(spark, config, pinned, f"{layer}.{table}")
        else:
            path = config.table_uri(layer, table)
            if not table_exists(spark, path):
                raise ReportRefused(f"{layer}.{table} does not exist at {path}: run the pipeline before the {name} report")
            version = table_version(spark, path)
        frames[table] = spark.read.format("delta").option("versionAsOf", version).load(path)
        provenance[f"{layer}.{table}"] = f"version {version} ({path})"
        versions[f"{layer}.{table}"] = (path, version)
    if pinned:
        return frames, {**provenance, **pinned.references}, versions
    properties = table_properties(spark, config.table_uri(*TABLES[name][0]))
    provenance["service catalog"] = properties.get(f"{PROPERTY_PREFIX}catalog_version", "unknown")
    provenance["public suffix list"] = properties.get(f"{PROPERTY_PREFIX}psl_version", "unknown")
    provenance["geo database"] = properties.get(f"{PROPERTY_PREFIX}geo_version", "unknown")
    provenance["ASN database"] = properties.get(f"{PROPERTY_PREFIX}asn_version", "unknown")
    return frames, provenance, versions


def pinned_table(spark: SparkSession, config: Config, pinned: Manifest, name: str) -> tuple[str, int]:
    """The location and version `pinned` recorded for table `name`, once its log and every
    data file of that version are known to be there; ReportRefused naming both otherwise."""
    if name not in pinned.tables:
        raise ReportRefused(f"{pinned.delivery}: its manifest records no version of {name}")
    path, version = pinned.tables[name]
    gone = f"{name} version {version} ({path}), which delivery {pinned.delivery} read,"
    try:
        files = spark.read.format("delta").option("versionAsOf", version).load(path).inputFiles()
    except Exception as err:  # Delta's time-travel refusal, or no table there at all
        raise ReportRefused(f"{gone} cannot be read any more: {str(err).splitlines()[0]}") from None
    present = set(relative_files(path, list_objects(path, config.s3)))
    missing = [f for f in relative_files(path, files) if f not in present]
    if missing:
        raise ReportRefused(f"{gone} has lost {len(missing)} of its {len(files)} data files to VACUUM "
                            f"(first: {missing[0]}); it cannot be rendered again")
    return path, version


def relative_files(location: str, uris) -> list[str]:
    """Each URI's path below the table's `location`: Spark names a file `file:/x` where the
    listing says `file:///x`, and escapes what a partition value needs escaping."""
    root = location.split("://", 1)[-1].strip("/") + "/"
    paths = [unquote(uri.split(":", 1)[-1].lstrip("/")) for uri in uris]
    return [path[len(root):] if path.startswith(root) else path for path in paths]


def in_window(df: DataFrame, start: date, end: date, column: str = "day") -> DataFrame:
    return df.where(F.col(column).between(F.lit(start), F.lit(end)))


def build_report(spark: SparkSession, config: Config, window: ReportWindow, run_time: datetime,
                 emailed: bool, pinned: Manifest | None = None) -> Report:
    """The report of `window`, closing with its coverage (a headline line and a section);
    pseudonymised when `emailed` unless the config says otherwise (`pseudonymises`); from the
    versions `pinned` recorded when it is given, from the current ones otherwise."""
    # Read first: with pseudonymisation on and no key, no report is rendered at all.
    key = pseudonym_key(config.reports, emailed)
    frames, provenance, versions = read_tables(spark, config, window.name, pinned)
    provenance = {"data window": f"{window.start} to {window.end}"
                  + (f", compared with {window.previous_start} to {window.previous_end}" if window.previous_start else ""),
                  **provenance, "generated at": run_time.isoformat(timespec="seconds")}
    usage = in_window(frames["service_usage_daily"], window.start, window.end).toPandas()
    report = report_body(config, window, frames, usage, provenance, key)
    report.headlines.append(coverage_headline(usage))
    report.sections.append(coverage_section(usage))
    report.table_versions = versions
    report.pseudonymised = key is not None
    return report


def report_body(config: Config, window: ReportWindow, frames: dict[str, DataFrame], usage, provenance: dict[str, str],
                key: bytes | None) -> Report:
    """The report's own headlines and sections, from its tables."""
    settings = config.reports
    if window.name == "trend":
        refuse_empty(usage, window, "gold.service_usage_daily")
        # The window's silver rows are read once for the trend's four aggregates (each scanned
        # six months of files, BENCHMARKS.md, "2026-12-02 18:20"), only the columns they use kept.
        silver = started_inside(in_window(frames["flows"], window.start, window.end)).select(*TREND_COLUMNS).cache()
        try:
            served = in_window(frames["served_daily"], window.start, window.end).toPandas()
            report = build_trend_report(window, usage, monthly_hosts(silver).toPandas(),
                                        weekday_hour_activity(silver, settings.local_timezone).toPandas(), served,
                                        host_day_bytes(silver).toPandas(), settings, provenance)
        finally:
            silver.unpersist()
        check_shares(report)
        return report
    if window.name == "overseas":
        presence = frames["overseas_presence"].where(F.col("period_start") == F.lit(window.start)).toPandas()
        refuse_empty(presence, window, "gold.overseas_presence")
        # The month gold's presence row covers, whatever day of it as-of is.
        period_end = presence["period_end"].iloc[0]
        counted = presence_activity(frames["flows"], window.start, period_end, presence_rule(config),
                                    configured_catalog(config.silver.catalog).global_infrastructure())
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
        # Rendered once for both: the files published are the ones mailed.
        report = build_report(spark, config, window, run_time, email and bool(config.reports.recipients))
        stage.done(rows=len(report.sections))
    with progress.stage("deliver") as stage:
        delivery = deliver(config, report, email, resend, progress)
        stage.done(rows=len(delivery["files"]))
    return {"report": report, **delivery}


def delivered_manifest(config: Config, folder: str) -> Manifest:
    """The manifest of the delivery in `folder`, read and checked before any Spark work: a
    folder without one, a malformed one, or an overseas report of another catalog release is
    refused naming the file."""
    folder = resolve_uri(folder)
    manifest_uri = f"{folder}/{MANIFEST}"
    text = read_object(manifest_uri, config.s3)
    if text is None:
        raise ReportRefused(f"{manifest_uri} does not exist: {folder} is not a delivery flowlake recorded "
                            f"(deliveries before manifests were kept cannot be reproduced)")
    pinned = parse_manifest(text, manifest_uri)
    catalog_version = configured_catalog(config.silver.catalog).version
    if pinned.name == "overseas" and pinned.references["service catalog"] != catalog_version:
        # Its presence counts read the catalog's global infrastructure at render time.
        raise ReportRefused(f"{pinned.delivery} used service catalog {pinned.references['service catalog']}, "
                            f"this flowlake has {catalog_version}: render it with that catalog's release")
    return pinned


def reproduce_report(spark: SparkSession, config: Config, folder: str, run_time: datetime,
                     progress: Progress) -> dict:
    """Render the delivery in `folder` again from what its manifest recorded, into
    `folder/reproduced/`; returns the report and the files that differ from the delivered ones."""
    pinned = delivered_manifest(config, folder)
    folder = resolve_uri(folder)
    settings = config_from_manifest(config, pinned)
    window = report_window(pinned.name, pinned.as_of, settings.reports)
    with progress.stage(f"reproduce {pinned.delivery}") as stage:
        # Pseudonymised again exactly when the delivery was (its settings are the recorded ones).
        report = build_report(spark, settings, window, run_time, pinned.pseudonymised, pinned)
        files = report_files(report)
        for name, data in files.items():
            write_object(f"{folder}/{REPRODUCED}/{name}", data, config.s3)
        stage.done(rows=len(files))
    differences = compare_files({name: read_object(f"{folder}/{name}", config.s3) for name in files}, files)
    progress.say(f"{len(files)} files written to {folder}/{REPRODUCED}/: "
                 + ("identical to the delivered ones but for the generation time" if not differences
                    else f"{len(differences)} differ from the delivered ones: {'; '.join(differences)}"))
    return {"report": report, "files": [f"{folder}/{REPRODUCED}/{name}" for name in files],
            "differences": differences}


def config_from_manifest(config: Config, pinned: Manifest) -> Config:
    """`config` with the report and gold settings the delivery was rendered with."""
    recorded = {}
    for section, settings in (("reports", ReportSettings), ("gold", GoldSettings)):
        try:
            recorded[section] = settings(**pinned.settings[section])
        except ValidationError as err:  # a setting unknown to this flowlake, or malformed
            raise ReportRefused(f"{pinned.delivery}: its recorded settings do not fit this flowlake: "
                                + "; ".join(f"{section}.{line}" for line in problem_lines(err, settings))) from None
    return replace(config, **recorded)


def check_options(name: str | None, as_of: date | None, email: bool, resend: bool, reproduce: str | None) -> None:
    if reproduce:
        if name or as_of or email or resend:
            raise OptionsRefused("--reproduce takes the report, window and settings from the delivery: give it alone")
    elif bool(name) != bool(as_of) or ((email or resend) and not name):
        raise OptionsRefused("--name and --as-of go together, and --email and --resend need them "
                             "(or --reproduce FOLDER alone, or none: every report as of gold's last day)")


def prepare(config: Config, reproduce: str | None, **options) -> None:
    """A delivery to reproduce is read and checked before a Spark session starts."""
    if reproduce:
        delivered_manifest(config, reproduce)


def run_reports(spark: SparkSession, config: Config, run_time: datetime, progress: Progress,
                name: str | None = None, as_of: date | None = None, email: bool = False, resend: bool = False,
                reproduce: str | None = None) -> dict:
    """The reports stage: one report as of a day (`name`, `as_of`), delivered and mailed if
    `email`; a delivery rendered again (`reproduce`), refused if a file differs; or, as in
    `flowlake run`, every report as of gold's last day, not mailed (the flowlake_reports DAG
    mails them on their calendar)."""
    if reproduce:
        result = reproduce_report(spark, config, reproduce, run_time, progress)
        if result["differences"]:
            raise ReportRefused(f"{reproduce}: rendered again, {len(result['differences'])} files differ: "
                                + "; ".join(result["differences"]))
        return {"reproduced": result}
    if name:
        return {name: run_report(spark, config, name, as_of, run_time, email, resend, progress)}
    path = config.table_uri(*SERVICE_USAGE_DAILY)
    last_day = spark.read.format("delta").load(path).agg(F.max("day")).first()[0] \
        if table_exists(spark, path) else None
    if last_day is None:
        progress.say("gold is empty: no reports")
        return {}
    results = {}
    for name in REPORT_NAMES:
        window = report_window(name, last_day, config.reports)
        published = published_unchanged(spark, config, window)
        if published:
            progress.say(f"{name} {window.label}: published from these table versions and settings already, "
                         f"not rendered again ({published})")
            results[name] = {"files": [f"{published}/report.html"], "unchanged": True}
        else:
            results[name] = run_report(spark, config, name, last_day, run_time, False, False, progress)
    return results


def published_unchanged(spark: SparkSession, config: Config, window: ReportWindow) -> str | None:
    """The folder of `window`'s delivery when its manifest says it read every table at its
    current version, with this config's report and gold settings and unpseudonymised, as
    `flowlake run` renders it: rendering it again would give the same report but for its
    generation time (a no-op run rendered all three again, most of its time). None otherwise."""
    folder = delivery_folder(config.reports_uri, window)
    text = read_object(f"{folder}/{MANIFEST}", config.s3)
    if text is None:
        return None
    try:
        pinned = parse_manifest(text, f"{folder}/{MANIFEST}")
    except ManifestError:
        return None  # rendered again: the new delivery's manifest replaces it
    current = {}
    for layer, table in TABLES[window.name]:
        path = config.table_uri(layer, table)
        current[f"{layer}.{table}"] = (path, table_version(spark, path) if table_exists(spark, path) else None)
    # The settings as the manifest's JSON holds them (tuples become lists).
    settings = json.loads(json.dumps(recorded_settings(config)))
    unchanged = (pinned.tables == current and pinned.settings == settings
                 and pinned.pseudonymised == pseudonymises(config.reports, emailed=False))
    return folder if unchanged else None


def summary_lines(spark: SparkSession, config: Config, results: dict) -> list[str]:
    return [f"report {name}: {result['files'][0].rsplit('/', 1)[0]}/report.html"
            + (f", emailed: {result['emailed']}" if "emailed" in result else "")
            + (", unchanged" if result.get("unchanged") else "") for name, result in results.items()]
