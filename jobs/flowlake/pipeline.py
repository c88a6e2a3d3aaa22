"""Run pipeline stages in one Spark session and print the closing summary.

`run_stages(config, stages, app_name)` is what `flowlake run` and each job's `main()` call:
one session for all the stages asked for (a JVM start costs seconds), stopped at the end.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from flowlake.config import Config, load_config
from flowlake.progress import Progress
from flowlake.session import build_session

STAGES = ("bronze", "silver", "gold", "reports")


def run_stages(config: Config, stages: list[str], app_name: str) -> dict:
    from flowlake.bronze import ingest
    from flowlake.gold import build as gold_build
    from flowlake.reports import job as reports_job
    from flowlake.silver import build as silver_build

    progress = Progress(app_name.removeprefix("flowlake-"))
    spark = build_session(config, app_name)
    results = {}
    try:
        # The run's one clock reading: stages stamp rows with it, never with their own now().
        run_time = datetime.now(timezone.utc)
        lines = []
        for name, module in (("bronze", ingest), ("silver", silver_build), ("gold", gold_build),
                             ("reports", reports_job)):
            if name in stages:
                results[name] = getattr(module, f"run_{name}")(spark, config, run_time, progress)
                lines += module.summary_lines(spark, config, results[name])
        progress.summary(lines)
    finally:
        spark.stop()
    return results


def job_main(stage: str, description: str, argv: list[str] | None):
    """A job's `main()`: parse `--config`, run the one stage, return its result."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", required=True, help="flowlake YAML config")
    args = parser.parse_args(argv)
    return run_stages(load_config(args.config), [stage], f"flowlake-{stage}")[stage]
