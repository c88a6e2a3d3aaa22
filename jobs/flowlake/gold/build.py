"""Gold: the aggregate tables the reports and analysts read, refreshed per changed day.

Run it with `flowlake run --config C --stages gold` (after silver), or as a Spark application:
`spark-submit $(flowlake submit-args --config C) jobs/run_stage.py --stage gold --config C`.

Extract finds the days silver changed since the silver version every gold table recorded
(silver's change data feed) and reads those days, and for overseas presence the whole
calendar months holding them and the months after (whose new/dropped comparison looks back at
them), reading one month more before them to compare against. Transform is `flowlake.gold.aggregates`. Validate runs each
table's suite. Load replaces exactly those days (or months) of each table in one Delta commit,
then records the silver version, catalog, geo source and ASN database on the table. A re-run
over the same silver rewrites the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from flowlake.config import Config
from flowlake.gold.aggregates import (
    MiningRule, PresenceRule, country_activity_daily, crypto_activity_daily, crypto_contacts_daily, monthly_presence,
    presence_changes, served_daily, service_usage_daily,
)
from flowlake.periods import month_bounds, months_to_refresh
from flowlake import stages
from flowlake.progress import Progress
from flowlake.quality import check_table, import_in_background
from flowlake.silver.service_catalog import configured_catalog
from flowlake.tables import (
    PROPERTY_PREFIX, changed_days, day_list, replace_where, set_properties, table_exists, table_line,
    table_properties, table_version,
)

# Gold's tables by name (flowlake.stages), as its code keys them.
DAILY_TABLES = tuple(table.name for table in stages.GOLD_DAILY_TABLES)
PRESENCE_TABLE = stages.OVERSEAS_PRESENCE.name
GOLD_TABLES = (*DAILY_TABLES, PRESENCE_TABLE)


@dataclass(frozen=True)
class GoldResult:
    days: int
    months: int
    rows: dict


def mining_rule(config: Config) -> MiningRule:
    return MiningRule(min_pool_hours=config.gold.mining_min_pool_hours, min_p2p_peers=config.gold.mining_min_p2p_peers)


def presence_rule(config: Config) -> PresenceRule:
    return PresenceRule(min_activity_ratio=config.gold.presence_min_activity_ratio,
                        min_local_domains=config.gold.presence_min_local_domains,
                        min_days=config.gold.presence_min_days, min_hosts=config.gold.presence_min_hosts)


def daily_tables(silver: DataFrame, mining: MiningRule) -> dict[str, DataFrame]:
    """Each of DAILY_TABLES built from the same silver days."""
    return {"service_usage_daily": service_usage_daily(silver),
            "country_activity_daily": country_activity_daily(silver),
            "crypto_activity_daily": crypto_activity_daily(silver, mining),
            "crypto_contacts_daily": crypto_contacts_daily(silver, mining),
            "served_daily": served_daily(silver)}


def month_list(months: list[tuple[date, date]]) -> str:
    """The months' first days as a SQL list: `period_start IN (...)`."""
    return ", ".join(f"DATE'{start}'" for start, _ in months)


def run_gold(spark: SparkSession, config: Config, run_time: datetime, progress: Progress) -> GoldResult:
    silver_path = config.table_uri(*stages.SILVER_FLOWS)
    paths = {name: config.table_uri("gold", name) for name in GOLD_TABLES}
    recorded = [table_properties(spark, p).get(f"{PROPERTY_PREFIX}silver_flows_version") for p in paths.values()]
    # The oldest version any gold table reflects: a crash between two tables redoes both.
    since = min(int(v) for v in recorded) if all(v is not None for v in recorded) else None

    with progress.stage("find changed days") as stage:
        silver_version = table_version(spark, silver_path) if table_exists(spark, silver_path) else None
        days = changed_days(spark, silver_path, since, silver_version, F.col("day"), progress.say)
        stage.done(rows=len(days))
    if not days:
        progress.say("silver has not changed since the last gold run")
        return GoldResult(0, 0, {})
    months = months_to_refresh(days)
    progress.say(f"{len(days)} days and {len(months)} months to refresh")
    import_in_background()  # for the gates, while the tables are aggregated

    silver = spark.read.format("delta").load(silver_path)
    catalog = configured_catalog(config.silver.catalog)
    rule = presence_rule(config)
    mining = mining_rule(config)
    with progress.stage("aggregate") as stage:
        # Silver is read once: the months presence refreshes and the month before them (which
        # they are compared with) hold every changed day, so the five daily tables take their
        # days from the same kept rows (each table and each side of presence's comparison
        # scanned the files again, BENCHMARKS.md, "2026-12-02 15:07" and "18:20").
        first_day = month_bounds(months[0][0] - timedelta(days=1))[0]
        in_months = silver.where(f"day BETWEEN DATE'{first_day}' AND DATE'{months[-1][1]}'").cache()
        changed = in_months.where(f"day IN ({day_list(days)})")
        # Gold's tables are small (tens of rows a day) and not partitioned: a file per day and
        # table was 920 files for six months, most of gold's load (BENCHMARKS.md, 2026-12-02).
        # Days are found by the files' statistics instead; tables made partitioned by day stay so.
        tables = {name: df.cache() for name, df in daily_tables(changed, mining).items()}
        # Kept: presence_changes compares it with itself, four reads of it.
        presence = monthly_presence(in_months, rule, catalog.global_infrastructure()).cache()
        tables[PRESENCE_TABLE] = presence_changes(presence).where(f"period_start IN ({month_list(months)})").cache()
        rows = {name: df.count() for name, df in tables.items()}
        stage.done(rows=sum(rows.values()))

    try:
        with progress.stage("validate") as stage:
            for name, df in tables.items():
                check_table(df, f"gold.{name}", rows[name], config.quality.driver_max_rows)
            stage.done(rows=sum(rows.values()))

        with progress.stage("load") as stage:
            silver_properties = table_properties(spark, silver_path)
            properties = {"silver_flows_version": silver_version,
                          **{k: silver_properties.get(f"{PROPERTY_PREFIX}{k}")
                             for k in ("catalog_version", "psl_version", "geo_source", "geo_version", "asn_version")}}
            for name in DAILY_TABLES:
                replace_where(tables[name], paths[name], f"day IN ({day_list(days)})")
            replace_where(tables[PRESENCE_TABLE], paths[PRESENCE_TABLE], f"period_start IN ({month_list(months)})")
            for path in paths.values():
                set_properties(spark, path, properties)
            stage.done(rows=sum(rows.values()))
    finally:
        for df in (*tables.values(), presence, in_months):
            df.unpersist()
    return GoldResult(days=len(days), months=len(months), rows=rows)


def summary_lines(spark: SparkSession, config: Config, result: GoldResult) -> list[str]:
    return [f"gold: {result.days} days and {result.months} months refreshed"] + [
        table_line(f"gold.{name}", result.rows.get(name, 0), config.table_uri("gold", name)) for name in GOLD_TABLES]
