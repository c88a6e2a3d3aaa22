"""Run pipeline stages in one Spark session and print the closing summary.

`run_stages(config, stages, app_name)` is what `flowlake run` and each job's `main()` call:
one session for all the stages asked for (a JVM start costs seconds), stopped at the end.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flowlake.config import Config
from flowlake.progress import Progress
from flowlake.session import build_session

STAGES = ("bronze",)


def run_stages(config: Config, stages: list[str], app_name: str) -> dict:
    from flowlake.bronze.ingest import run_bronze, summary_lines

    progress = Progress(app_name.removeprefix("flowlake-"))
    spark = build_session(config, app_name)
    results = {}
    try:
        # The run's one clock reading: stages stamp rows with it, never with their own now().
        run_time = datetime.now(timezone.utc)
        if "bronze" in stages:
            results["bronze"] = run_bronze(spark, config, run_time, progress)
        progress.summary(summary_lines(spark, config, results["bronze"]))
    finally:
        spark.stop()
    return results
