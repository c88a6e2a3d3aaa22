"""The pipeline in one screen: its stages, the tables each writes, and how a stage is run.

    raw dumps + passive DNS (raw_uri)
      -> bronze       parse every new object, once       bronze.flows, dns, quarantine, ingested_files
      -> silver       clean, orient, enrich, classify    silver.flows          (the days bronze changed)
      -> gold         aggregate per day and month        gold.*                (the days silver changed)
      -> reports      trend, overseas, crypto            reports_uri/<report>/<period>/
    maintenance       OPTIMIZE, VACUUM, quarantine expiry (weekly, beside the above)
    whatif            silver and gold again under another catalog, in scratch (never published)

Every stage is a `Stage` below and runs the same way (`flowlake.runner`): one entry point,
`spark-submit ... jobs/run_stage.py --stage NAME --config C [stage options]`, which `flowlake
run`, `flowlake report`, `flowlake maintain`, `flowlake whatif` and the Airflow DAGs all use. The
runner parses the stage's options, checks them before any JVM starts, opens the session (with
the warehouse's writer lease when the stage writes), runs the stage, prints its summary and
stops the session. A stage's functions are

    run(spark, config, run_time, progress, **options) -> result   extract, transform, validate, load
    summary(spark, config, result) -> list[str]                    the closing summary's lines
    check(**options)                       refuses options that do not go together, before the config is read
    prepare(config, **options)             reads and checks the stage's own inputs before a JVM starts

where `run_time` is the run's one clock reading (stages stamp rows with it, never with their own
now()), and `options` are the stage's command-line options by their argparse names.

Each function is named here as `module:function` and imported only when the stage runs: this
module imports nothing beyond the standard library, so the Airflow DAG processor (which reads the
table names for its Assets at parse time) and `flowlake --help` stay light, and no layer module
imports the runner. `TABLES` is the one list of flowlake's table names: jobs, DAGs, the SQL
catalog, maintenance and tests take them from here.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple


class Table(NamedTuple):
    """A Delta table: `<warehouse_uri>/<layer>/<name>`, and `<layer>.<name>` in the SQL catalog."""

    layer: str
    name: str

    def __str__(self) -> str:
        return f"{self.layer}.{self.name}"


BRONZE_FLOWS = Table("bronze", "flows")
BRONZE_DNS = Table("bronze", "dns")
BRONZE_QUARANTINE = Table("bronze", "quarantine")
BRONZE_MANIFEST = Table("bronze", "ingested_files")
SILVER_FLOWS = Table("silver", "flows")
SERVICE_USAGE_DAILY = Table("gold", "service_usage_daily")
COUNTRY_ACTIVITY_DAILY = Table("gold", "country_activity_daily")
CRYPTO_ACTIVITY_DAILY = Table("gold", "crypto_activity_daily")
CRYPTO_CONTACTS_DAILY = Table("gold", "crypto_contacts_daily")
SERVED_DAILY = Table("gold", "served_daily")
OVERSEAS_PRESENCE = Table("gold", "overseas_presence")
# Gold's tables refreshed per changed day; overseas presence is refreshed per calendar month.
GOLD_DAILY_TABLES = (SERVICE_USAGE_DAILY, COUNTRY_ACTIVITY_DAILY, CRYPTO_ACTIVITY_DAILY, CRYPTO_CONTACTS_DAILY,
                     SERVED_DAILY)
GOLD_TABLES = (*GOLD_DAILY_TABLES, OVERSEAS_PRESENCE)
BRONZE_TABLES = (BRONZE_FLOWS, BRONZE_DNS, BRONZE_QUARANTINE, BRONZE_MANIFEST)
TABLES = (*BRONZE_TABLES, SILVER_FLOWS, *GOLD_TABLES)
LAYERS = ("bronze", "silver", "gold")


@dataclass(frozen=True)
class Option:
    """One command-line option of a stage: argparse's `add_argument(*flags, **settings)`."""

    flags: tuple[str, ...]
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    name: str
    description: str
    run: str
    summary: str
    writes: tuple[Table, ...] = ()
    options: tuple[Option, ...] = ()
    check: str | None = None
    prepare: str | None = None
    # Whether `flowlake run` runs it (in this order) when no --stages are given.
    in_pipeline: bool = True
    # The `flowlake` command that runs it alone, if any; it names the stage's progress lines too.
    command: str | None = None
    # Whether the stage writes to the warehouse, so it takes the writer lease (flowlake.lease).
    holds_lease: bool = True

    def function(self, role: str) -> Callable:
        """The stage's `run`, `summary`, `check` or `prepare` function, imported now."""
        module, name = getattr(self, role).split(":")
        return getattr(importlib.import_module(module), name)

    @property
    def label(self) -> str:
        """What its progress lines and Spark application are called: `[report] ...`, flowlake-report."""
        return self.command or self.name

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        for option in self.options:
            parser.add_argument(*option.flags, **option.settings)


AS_OF = Option(("--as-of",), {"type": date.fromisoformat, "default": None, "help": "last day, YYYY-MM-DD"})

STAGES = (
    Stage("bronze", "Ingest new raw objects into the bronze tables.",
          run="flowlake.bronze.ingest:run_bronze", summary="flowlake.bronze.ingest:summary_lines",
          writes=BRONZE_TABLES),
    Stage("silver", "Rebuild silver.flows for the days bronze changed.",
          run="flowlake.silver.build:run_silver", summary="flowlake.silver.build:summary_lines",
          writes=(SILVER_FLOWS,)),
    Stage("gold", "Refresh the gold tables for the days silver changed.",
          run="flowlake.gold.build:run_gold", summary="flowlake.gold.build:summary_lines",
          writes=GOLD_TABLES),
    Stage("reports", "Render reports from gold: all three as of gold's last day, or one (--name, --as-of) and "
                     "deliver it, or a delivered one again from the versions it recorded (--reproduce).",
          run="flowlake.reports.job:run_reports", summary="flowlake.reports.job:summary_lines",
          check="flowlake.reports.job:check_options", prepare="flowlake.reports.job:prepare", command="report",
          options=(Option(("--name",), {"choices": ("trend", "overseas", "crypto"), "default": None}),
                   AS_OF,
                   Option(("--email",), {"action": "store_true",
                                         "help": "mail it to reports.recipients (once per period)"}),
                   Option(("--resend",), {"action": "store_true",
                                          "help": "mail it again even if this period was mailed"}),
                   Option(("--reproduce",), {"metavar": "FOLDER", "default": None,
                                             "help": "a delivery, <reports_uri>/<name>/<period> (URI or local "
                                                     "path): render it again from its manifest.json into "
                                                     "FOLDER/reproduced/"}))),
    Stage("maintenance", "Compact, vacuum and tidy flowlake's Delta tables.",
          run="flowlake.maintenance:maintain", summary="flowlake.maintenance:summary_lines",
          writes=TABLES, in_pipeline=False, command="maintain",
          options=(Option(AS_OF.flags, {**AS_OF.settings, "help": "day the quarantine retention counts back "
                                                                  "from (default: today, UTC)"}),)),
    Stage("whatif", "Rebuild silver and gold for a window under another catalog or geo source, in scratch, and "
                    "compare them with the published gold.",
          run="flowlake.whatif:whatif", summary="flowlake.whatif:summary_lines", check="flowlake.whatif:check_options",
          prepare="flowlake.whatif:prepare",
          in_pipeline=False, holds_lease=False, command="whatif",
          options=(Option(("--catalog",), {"default": "", "help": "service catalog YAML (default: the bundled one)"}),
                   Option(("--geo-source",), {"choices": ("iptocc", "geoip2fast"), "default": None,
                                              "help": "offline geolocation (default: the config's silver.geo_source)"}),
                   Option(("--from",), {"dest": "start", "type": date.fromisoformat, "required": True,
                                        "help": "first day, YYYY-MM-DD"}),
                   Option(("--to",), {"dest": "end", "type": date.fromisoformat, "required": True,
                                      "help": "last day, YYYY-MM-DD"}))),
)
PIPELINE = tuple(stage.name for stage in STAGES if stage.in_pipeline)


def stage_named(name: str) -> Stage:
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise KeyError(f"unknown stage {name!r}; stages are {', '.join(s.name for s in STAGES)}")
