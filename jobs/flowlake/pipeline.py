"""Run pipeline stages in one Spark session and print the closing summary.

`run_stages(config, stages, app_name)` is what `flowlake run` and each job's `main()` call:
one session for all the stages asked for (a JVM start costs seconds), stopped at the end.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flowlake.config import Config
from flowlake.progress import Progress
from flowlake.session import build_session

STAGES = ("bronze", "silver")


def run_stages(config: Config, stages: list[str], app_name: str) -> dict:
    from flowlake.bronze import ingest
    from flowlake.silver import build

    progress = Progress(app_name.removeprefix("flowlake-"))
    spark = build_session(config, app_name)
    results = {}
    try:
        # The run's one clock reading: stages stamp rows with it, never with their own now().
        run_time = datetime.now(timezone.utc)
        lines = []
        for name, module in (("bronze", ingest), ("silver", build)):
            if name in stages:
                results[name] = getattr(module, f"run_{name}")(spark, config, run_time, progress)
                lines += module.summary_lines(spark, config, results[name])
        progress.summary(lines)
    finally:
        spark.stop()
    return results
