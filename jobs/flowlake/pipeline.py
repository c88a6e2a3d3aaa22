"""Run pipeline stages in one Spark session and print the closing summary.

`run_stages(config, stages, app_name)` is what `flowlake run` and each job's `main()` call:
one session for all the stages asked for (a JVM start costs seconds), stopped at the end; on an
s3a:// warehouse the run holds the writer lease throughout (flowlake.lease).

Two runs may share a warehouse (a backfill beside a daily run, a manual re-run): when another
run commits to a table between this stage's read and its commit, Delta refuses the commit,
and the stage starts over from the tables as they now are. Every stage finds its own work
from the tables (the manifest, the versions recorded on silver and gold), so the second
attempt redoes only what the other run has not done. A stage that keeps meeting conflicts
stops with `ConcurrentRunConflict`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from flowlake.config import Config, load_config
from flowlake.errors import PipelineStopped
from flowlake.progress import Progress
from flowlake.session import writing_session

STAGES = ("bronze", "silver", "gold", "reports")
CONFLICT_ATTEMPTS = 3


class ConcurrentRunConflict(PipelineStopped):
    """Another run kept committing to the same tables; every table holds one run's whole commits."""


def delta_conflicts() -> tuple[type[Exception], ...]:
    """Delta's commit conflicts, as PySpark raises them (they share no Python base class)."""
    from delta import exceptions

    return tuple(getattr(exceptions, name) for name in exceptions.__all__)


def run_stage(run, name: str, spark, config: Config, run_time: datetime, progress: Progress):
    """One stage, started over when another run's commit conflicts with one of its own."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return run(spark, config, run_time, progress)
        except delta_conflicts() as err:
            conflict = f"{type(err).__name__}: {str(err).splitlines()[0]}"
            if attempt == CONFLICT_ATTEMPTS:
                raise ConcurrentRunConflict(
                    f"{name}: another run committed to the same tables {attempt} times while this one ran "
                    f"({conflict}). Nothing half-written is visible; run again once the other run has "
                    f"finished.") from None
            progress.say(f"{name}: another run committed to the same table ({conflict}); "
                         f"starting the stage again, attempt {attempt + 1} of {CONFLICT_ATTEMPTS}")


def run_stages(config: Config, stages: list[str], app_name: str) -> dict:
    from flowlake.bronze import ingest
    from flowlake.gold import build as gold_build
    from flowlake.reports import job as reports_job
    from flowlake.silver import build as silver_build

    progress = Progress(app_name.removeprefix("flowlake-"))
    results = {}
    with writing_session(config, app_name, progress) as spark:
        # The run's one clock reading: stages stamp rows with it, never with their own now().
        run_time = datetime.now(timezone.utc)
        lines = []
        for name, module in (("bronze", ingest), ("silver", silver_build), ("gold", gold_build),
                             ("reports", reports_job)):
            if name in stages:
                results[name] = run_stage(getattr(module, f"run_{name}"), name, spark, config, run_time, progress)
                lines += module.summary_lines(spark, config, results[name])
        progress.summary(lines)
    return results


def job_main(stage: str, description: str, argv: list[str] | None):
    """A job's `main()`: parse `--config`, run the one stage, return its result. A stage that
    stops on purpose (PipelineStopped: its message says why and what to do) exits 1 with that
    message alone, as `flowlake run` does: under spark-submit or Airflow a stack trace hides it."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", required=True, help="flowlake YAML config")
    args = parser.parse_args(argv)
    try:
        return run_stages(load_config(args.config), [stage], f"flowlake-{stage}")[stage]
    except PipelineStopped as err:
        print(f"flowlake {stage}: {type(err).__name__}: {err}", file=sys.stderr)
        raise SystemExit(1) from None
