"""What-if under another catalog or geo source: how much a finding rests on classification choices.

Run it with `flowlake whatif --config C --catalog FILE [--geo-source iptocc|geoip2fast]
--from DAY --to DAY` (README, "What-if"), or as the Spark application
`jobs/run_stage.py --stage whatif ...` with the same options.

Extract reads the published bronze. Transform is silver's and gold's own run functions
(`run_silver` for the window's days, then `run_gold`) under a config whose silver and gold
tables sit in a scratch folder, `<scratch_uri>/whatif/<from>_<to>/`, emptied first: the
published silver and gold are read, never written (each published table's Delta version is
the same afterwards, and the report's footer lists them). Load renders `side_by_side`, the
published gold beside the scratch gold for the window, as `report.html` and one CSV per
figure in `<scratch folder>/report/`.

The figures compared (`side_by_side`, a pure function of pandas frames of gold rows):
- headline share: each range's monthly bytes share of the trend headline's two categories
  (config `reports.shift_from`, `reports.shift_to`);
- category share: the same for every other category;
- overseas flag: 1 when a country is flagged for a month, 0 when not; only months the window
  covers whole, as gold computes presence over whole months;
- mining host: the days each host met the mining rule, per coin.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from flowlake.config import Config, ConfigError
from flowlake.errors import OptionsRefused, PipelineStopped
from flowlake.gold.build import run_gold
from flowlake.progress import Progress
from flowlake.reports.document import Report, Section, report_files
from flowlake.reports.trend import category_shares
from flowlake.periods import ReportWindow
from flowlake.silver.build import run_silver
from flowlake.silver.service_catalog import configured_catalog
from flowlake.stages import BRONZE_DNS, BRONZE_FLOWS, GOLD_TABLES, SILVER_FLOWS
from flowlake.storage import write_object
from flowlake.tables import PROPERTY_PREFIX, table_exists, table_properties, table_version

PUBLISHED_TABLES = (BRONZE_FLOWS, BRONZE_DNS, SILVER_FLOWS, *GOLD_TABLES)
SIDE_BY_SIDE_COLUMNS = ["figure", "range_name", "period", "item", "published", "what_if", "change"]
# figure -> the section (file stem, title) it is rendered in
FIGURES = {"headline share": ("headline_shares", "Headline categories' share of bytes"),
           "category share": ("category_shares", "Every other category's share of bytes"),
           "overseas flag": ("overseas_flags", "Overseas presence flags (1 flagged, 0 not)"),
           "mining host": ("mining_hosts", "Days each host met the mining rule")}


@dataclass(frozen=True)
class ScratchConfig(Config):
    """The config of a what-if rebuild: bronze from the published warehouse, silver and gold
    in `warehouse_uri`, the scratch folder."""

    published_warehouse_uri: str = ""

    def table_uri(self, layer: str, table: str) -> str:
        if layer == "bronze":
            return f"{self.published_warehouse_uri}/bronze/{table}"
        return super().table_uri(layer, table)


def scratch_folder(config: Config, start: date, end: date) -> str:
    """`<scratch_uri>/whatif/<start>_<end>`, refused when it and the warehouse hold one another."""
    folder = f"{config.scratch_uri}/whatif/{start}_{end}"
    warehouse = config.warehouse_uri
    if folder == warehouse or folder.startswith(warehouse + "/") or warehouse.startswith(folder + "/"):
        raise ConfigError(f"{config.path}: scratch_uri {config.scratch_uri} overlaps warehouse_uri {warehouse}; "
                          "a what-if rebuild must never write to the published tables")
    return folder


def scratch_config(config: Config, folder: str, catalog: str, geo_source: str) -> ScratchConfig:
    values = {name: getattr(config, name) for name in config.__dataclass_fields__}
    values.update(warehouse_uri=folder, published_warehouse_uri=config.warehouse_uri,
                  silver=replace(config.silver, catalog=catalog, geo_source=geo_source))
    return ScratchConfig(**values)


def _shares(usage: pd.DataFrame, categories: set[str], keep: bool) -> pd.DataFrame:
    shares = category_shares(usage, "month")
    shares = shares[shares["category"].isin(categories) == keep]
    return shares.rename(columns={"category": "item", "bytes_share": "value"})[["range_name", "period", "item",
                                                                                 "value"]]


def _flags(presence: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    whole = presence[(pd.to_datetime(presence["period_start"]) >= pd.Timestamp(start))
                     & (pd.to_datetime(presence["period_end"]) <= pd.Timestamp(end))]
    return pd.DataFrame({"range_name": "all", "period": pd.to_datetime(whole["period_start"]).dt.strftime("%Y-%m"),
                         "item": whole["country"], "value": whole["flagged"].astype(int)})


def _mining(crypto: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    days = (crypto.assign(item=crypto["internal_ip"] + " " + crypto["coin"])
            .groupby(["range_name", "item"], as_index=False)["day"].nunique())
    return days.assign(period=f"{start}..{end}").rename(columns={"day": "value"})


def figures(gold: dict[str, pd.DataFrame], start: date, end: date, headline: set[str]) -> pd.DataFrame:
    """`figure, range_name, period, item, value` of one gold (service_usage_daily,
    overseas_presence and crypto_activity_daily rows of the window)."""
    usage = gold["service_usage_daily"]
    parts = {"headline share": _shares(usage, headline, True), "category share": _shares(usage, headline, False),
             "overseas flag": _flags(gold["overseas_presence"], start, end),
             "mining host": _mining(gold["crypto_activity_daily"], start, end)}
    return pd.concat([part.assign(figure=name) for name, part in parts.items()], ignore_index=True)


def side_by_side(published: dict[str, pd.DataFrame], what_if: dict[str, pd.DataFrame], start: date, end: date,
                 headline: set[str]) -> pd.DataFrame:
    """Each figure of the published gold beside the what-if gold's, and the change. A figure one
    side lacks (a host that no longer mines, a category nothing fell into) is 0 there."""
    keys = ["figure", "range_name", "period", "item"]
    merged = figures(published, start, end, headline).merge(figures(what_if, start, end, headline), on=keys,
                                                            how="outer", suffixes=("_published", "_what_if"))
    merged = merged.assign(published=merged["value_published"].fillna(0), what_if=merged["value_what_if"].fillna(0))
    merged["change"] = (merged["what_if"] - merged["published"]).round(4)
    order = {name: i for i, name in enumerate(FIGURES)}
    return (merged.assign(order=merged["figure"].map(order)).sort_values(["order", *keys[1:]])
            [SIDE_BY_SIDE_COLUMNS].reset_index(drop=True))


def moved_lines(compared: pd.DataFrame) -> list[str]:
    """The report's headlines: how many figures moved, and each headline share that did."""
    moved = compared[compared["change"] != 0]
    lines = [f"{len(moved)} of {len(compared)} figures moved: "
             + ", ".join(f"{(moved['figure'] == name).sum()} {name}" for name in FIGURES) + "."]
    for row in moved[moved["figure"] == "headline share"].itertuples():
        lines.append(f"{row.range_name} {row.period}: {row.item} {row.published:.1%} of bytes published, "
                     f"{row.what_if:.1%} under the what-if ({row.change * 100:+.1f} points).")
    return lines


def whatif_report(compared: pd.DataFrame, start: date, end: date, provenance: dict[str, str]) -> Report:
    sections = [Section(stem, title, table=compared[compared["figure"] == name].drop(columns="figure"))
                for name, (stem, title) in FIGURES.items()]
    return Report("whatif", "What-if: published gold beside a rebuild under another catalog",
                  ReportWindow("whatif", start, end), moved_lines(compared), sections, provenance)


def window_gold(spark: SparkSession, config: Config, start: date, end: date) -> dict[str, pd.DataFrame]:
    """The gold rows `figures` compares, for the window's days (presence: months starting in it)."""
    def table(name, column):
        return (spark.read.format("delta").load(config.table_uri("gold", name))
                .where(F.col(column).between(F.lit(start), F.lit(end))).toPandas())

    return {"service_usage_daily": table("service_usage_daily", "day"),
            "crypto_activity_daily": table("crypto_activity_daily", "day"),
            "overseas_presence": table("overseas_presence", "period_start")}


def published_versions(spark: SparkSession, config: Config) -> dict[str, int]:
    return {f"{layer}.{table}": table_version(spark, config.table_uri(layer, table))
            for layer, table in PUBLISHED_TABLES if table_exists(spark, config.table_uri(layer, table))}


def remove_folder(spark: SparkSession, uri: str) -> None:
    """Delete `uri` and everything under it, on any file system Spark writes to (file, s3a)."""
    path = spark._jvm.org.apache.hadoop.fs.Path(uri)
    path.getFileSystem(spark._jsc.hadoopConfiguration()).delete(path, True)


def run_whatif(spark: SparkSession, config: Config, catalog: str, geo_source: str, start: date, end: date,
               run_time: datetime, progress: Progress) -> tuple[str, pd.DataFrame]:
    """Rebuild the window under `catalog` and `geo_source` in scratch and compare it with the
    published gold; returns the report's folder and the side-by-side."""
    folder = scratch_folder(config, start, end)
    what_if = configured_catalog(catalog)  # a bad file fails here, before any Spark work
    before = published_versions(spark, config)
    remove_folder(spark, folder)
    scratch = scratch_config(config, folder, catalog, geo_source)
    if not run_silver(spark, scratch, run_time, progress, window=(start, end)).days:
        raise PipelineStopped(f"bronze ({config.warehouse_uri}/bronze) has no rows from {start} to {end}: "
                              "nothing to rebuild; choose days the published tables hold")
    run_gold(spark, scratch, run_time, progress)
    compared = side_by_side(window_gold(spark, config, start, end), window_gold(spark, scratch, start, end), start,
                            end, {config.reports.shift_from, config.reports.shift_to})
    after = published_versions(spark, config)
    if after != before:
        raise PipelineStopped(f"published tables changed while the what-if ran: {before} then {after}; "
                           "another run committed meanwhile, so the comparison may mix two versions: run it again")
    silver = table_properties(spark, config.table_uri(*SILVER_FLOWS))
    provenance = {
        "published catalog": silver.get(f"{PROPERTY_PREFIX}catalog_version", "?"),
        "published geo source": silver.get(f"{PROPERTY_PREFIX}geo_source", "?"),
        "what-if catalog": f"{what_if.version} ({catalog or 'bundled'})", "what-if geo source": geo_source,
        "published tables read (Delta versions, unchanged)": ", ".join(f"{k} v{v}" for k, v in before.items()),
        "scratch tables": folder, "generated": run_time.isoformat(timespec="seconds"),
    }
    report = whatif_report(compared, start, end, provenance)
    for name, data in report_files(report).items():
        write_object(f"{folder}/report/{name}", data, config.s3)
    return f"{folder}/report", compared


def check_options(start: date, end: date, **options) -> None:
    if end < start:
        raise OptionsRefused(f"--to {end} is before --from {start}")


def prepare(config: Config, catalog: str, **options) -> None:
    """A catalog file that breaks a rule is refused before a Spark session starts."""
    configured_catalog(catalog)


def whatif(spark: SparkSession, config: Config, run_time: datetime, progress: Progress, catalog: str,
           geo_source: str | None, start: date, end: date) -> tuple[str, pd.DataFrame]:
    """The whatif stage: `run_whatif` with the config's geo source unless another is given."""
    return run_whatif(spark, config, catalog, geo_source or config.silver.geo_source, start, end, run_time, progress)


def summary_lines(spark: SparkSession, config: Config, result: tuple[str, pd.DataFrame]) -> list[str]:
    folder, compared = result
    return moved_lines(compared) + [f"side-by-side: {folder}/report.html and one CSV per figure"]
