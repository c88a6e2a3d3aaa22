"""The one way a stage runs (`flowlake.stages` lists them): options, session, progress, summary.

  spark-submit $(flowlake submit-args --config C) jobs/run_stage.py --stage NAME --config C [options]
  flowlake run --config C [--stages bronze,silver]       several pipeline stages in one session
  flowlake report | maintain | whatif --config C ...     one stage, by the name people use

`run_stages(config, stages, app_name, options)` runs stages in one Spark session (a JVM start
costs seconds), stopped at the end; a stage that writes holds the writer lease of an s3a://
warehouse throughout (flowlake.lease). `stage_command(name)` is a command's `main`: it parses
`--config` and the stage's options, lets the stage refuse them and check its inputs before any
JVM starts, and runs it.

Two runs may share a warehouse (a backfill beside a daily run, a manual re-run): when another
run commits to a table between this stage's read and its commit, Delta refuses the commit,
and the stage starts over from the tables as they now are. Every stage finds its own work
from the tables (the manifest, the versions recorded on silver and gold), so the second
attempt redoes only what the other run has not done. A stage that keeps meeting conflicts
stops with `ConcurrentRunConflict`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, timezone

from flowlake import last_run
from flowlake.config import Config, load_config
from flowlake.errors import OptionsRefused, PipelineStopped
from flowlake.progress import Progress
from flowlake.session import stopped_session, writing_session
from flowlake.stages import PIPELINE, STAGES, Stage, stage_named

CONFLICT_ATTEMPTS = 3


class ConcurrentRunConflict(PipelineStopped):
    """Another run kept committing to the same tables; every table holds one run's whole commits."""


def delta_conflicts() -> tuple[type[Exception], ...]:
    """Delta's commit conflicts, as PySpark raises them (they share no Python base class)."""
    from delta import exceptions

    return tuple(getattr(exceptions, name) for name in exceptions.__all__)


def run_stage(run: Callable, name: str, spark, config: Config, run_time: datetime, progress: Progress, /,
              **options):
    """One stage, started over when another run's commit conflicts with one of its own. Positional
    only: a stage's options may be called `name` (the reports stage's --name)."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return run(spark, config, run_time, progress, **options)
        except delta_conflicts() as err:
            conflict = f"{type(err).__name__}: {str(err).splitlines()[0]}"
            if attempt == CONFLICT_ATTEMPTS:
                raise ConcurrentRunConflict(
                    f"{name}: another run committed to the same tables {attempt} times while this one ran "
                    f"({conflict}). Nothing half-written is visible; run again once the other run has "
                    f"finished.") from None
            progress.say(f"{name}: another run committed to the same table ({conflict}); "
                         f"starting the stage again, attempt {attempt + 1} of {CONFLICT_ATTEMPTS}")


def run_stages(config: Config, names: list[str], app_name: str, options: dict | None = None) -> dict:
    stages = [stage_named(name) for name in names]
    progress = Progress(app_name.removeprefix("flowlake-"))
    # A stage that publishes nothing (what-if writes scratch only) takes no lease.
    session = writing_session(config, app_name, progress) if any(stage.holds_lease for stage in stages) \
        else stopped_session(config, app_name)
    results = {}
    with session as spark:
        # The run's one clock reading: stages stamp rows with it, never with their own now().
        run_time = datetime.now(timezone.utc)
        lines = []
        for stage in stages:
            results[stage.name] = run_stage(stage.function("run"), stage.name, spark, config, run_time, progress,
                                            **(options or {}))
            lines += stage.function("summary")(spark, config, results[stage.name])
        progress.summary(lines)
    return results


def run_pipeline(argv: list[str]) -> int:
    """`flowlake run`: pipeline stages, in their order, in one session."""
    parser = argparse.ArgumentParser(prog="flowlake run", description="Run pipeline stages on new raw objects.")
    parser.add_argument("--config", required=True, help="flowlake YAML config")
    parser.add_argument("--stages", default=",".join(PIPELINE),
                        help=f"comma-separated stages to run, of {', '.join(PIPELINE)}")
    parser.add_argument("--always", action="store_true",
                        help="run the stages even when nothing changed since the last successful run "
                             "(raw objects, tables, config, stages: flowlake.last_run)")
    args = parser.parse_args(argv)
    asked = {s.strip() for s in args.stages.split(",") if s.strip()}
    unknown = sorted(asked - set(PIPELINE))
    if unknown:
        parser.error(f"unknown stage(s) {', '.join(unknown)}; this version has: {', '.join(PIPELINE)}")
    config = load_config(args.config)
    names = [name for name in PIPELINE if name in asked]
    # Listed before the run: an object landing while it runs makes the next run's digest differ.
    raw = last_run.raw_listing(config)
    previous = last_run.last_run(config)
    if not args.always and previous and previous["digest"] == last_run.run_digest(
            config, names, raw, last_run.table_versions(config)):
        Progress("run").say(f"nothing new since the run that finished at {previous['finished_at']}: raw objects "
                            f"({len(raw)}), tables, config and stages as it left them ({last_run.record_uri(config)}); "
                            f"Spark not started (--always runs the stages anyway)")
        return 0
    run_stages(config, names, "flowlake-run")
    last_run.record_run(config, last_run.run_digest(config, names, raw, last_run.table_versions(config)),
                        datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return 0


def run_one_stage(stage: Stage, prog: str, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=stage.description)
    parser.add_argument("--config", required=True, help="flowlake YAML config")
    stage.add_options(parser)
    options = vars(parser.parse_args(argv))
    config_path = options.pop("config")
    if stage.check:
        try:
            stage.function("check")(**options)
        except OptionsRefused as err:
            parser.error(str(err))
    config = load_config(config_path)
    if stage.prepare:
        stage.function("prepare")(config, **options)
    run_stages(config, [stage.name], f"flowlake-{stage.label}", options)
    return 0


def stage_command(stage: Stage) -> Callable[[list[str]], int]:
    """The `main` of `flowlake <stage.command>`."""
    return lambda argv: run_one_stage(stage, f"flowlake {stage.command}", argv)


def any_stage(argv: list[str]) -> int:
    """`jobs/run_stage.py --stage NAME --config C [options]`: the Spark application of every stage.
    `--stage` is read first, since it decides which options follow."""
    names = [stage.name for stage in STAGES]
    chooser = argparse.ArgumentParser(prog="flowlake stage", add_help=False)
    chooser.add_argument("--stage", choices=names)
    chosen, rest = chooser.parse_known_args(argv)
    if chosen.stage is None:
        usage = argparse.ArgumentParser(prog="flowlake stage", description="Run one stage of flowlake.stages; "
                                        "`--stage NAME --help` tells its options.")
        usage.add_argument("--stage", choices=names, required=True)
        usage.parse_args(argv)  # --help, or the error naming --stage
    return run_one_stage(stage_named(chosen.stage), f"flowlake stage --stage {chosen.stage}", rest)
