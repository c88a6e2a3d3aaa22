"""Where the seconds of a small `flowlake run` go: the fixed costs issue 18 point 1 asks about.

A benchmark, not a test: nothing asserts. It runs `flowlake.runner.run_stages` in this
process with a timer around each piece of plumbing, and prints one JSON line: the whole
run's seconds, each piece's seconds and calls, and how many Spark jobs each started.

Pieces timed (the outermost one takes the seconds when they nest):
  session      the JVM and Spark session start (build_session)
  ge_import    waiting for Great Expectations' import, which starts on a thread beside the JVM
  gate         the suites (quality.check_table), GE's context and ge_import included
  data_commit  a Delta write of rows (replace_where, replace_rows_of_objects, merge_by_key)
  properties   table properties in commits of their own (set_properties)
  log_reads    Delta log and metadata reads (table_exists, table_version, table_properties, changed_days)
  summary      the closing summary's row counts (table_line)
and each stage's own lines ([run] <stage> done: ... <seconds>s), which hold the pieces above.

Run (from the repository root, with the project's venv):
    .venv/bin/python bench/small_run_profile.py --config C --stages bronze,silver,gold
BENCHMARKS.md ("Small runs") has the whole session: the dumps generated, a fresh warehouse,
the full run, the no-op run, five objects, one new day, each repeated.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import sys
import time
from collections import defaultdict

PIECES = {
    "session": ["build_session"],
    "gate": ["check_table"],
    "data_commit": ["replace_where", "replace_rows_of_objects", "merge_by_key"],
    "properties": ["set_properties"],
    "log_reads": ["table_exists", "table_version", "table_properties", "changed_days", "read_or_empty"],
    "summary": ["table_line"],
}

seconds: dict[str, float] = defaultdict(float)
calls: dict[str, int] = defaultdict(int)
spark_jobs: dict[str, int] = defaultdict(int)
active: list[str] = []
stage_lines: list[tuple[str, float]] = []


def last_job_id() -> int:
    """The highest Spark job id started so far in this session (-1 before any)."""
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is None:
        return -1
    return max(context.statusTracker().getJobIdsForGroup(None) or [-1])


def timed(piece: str, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if active:  # nested inside another timed piece: the outer one takes the seconds
            return function(*args, **kwargs)
        active.append(piece)
        first_job, started = last_job_id(), time.monotonic()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[piece] += time.monotonic() - started
            calls[piece] += 1
            spark_jobs[piece] += last_job_id() - first_job
            active.pop()
    return wrapper


def instrument() -> None:
    """Wrap every piece's functions wherever flowlake's modules bound them by name."""
    # Every stage's module first, so the names they import are bound where they are used.
    for module in ("flowlake.bronze.ingest", "flowlake.silver.build", "flowlake.gold.build", "flowlake.runner"):
        importlib.import_module(module)

    for piece, names in PIECES.items():
        for module in [m for name, m in sys.modules.items() if name.startswith("flowlake")]:
            for name in names:
                if callable(getattr(module, name, None)):
                    setattr(module, name, timed(piece, getattr(module, name)))


def ge_import_wait() -> None:
    """Time the wait for GE's import where the first gate would otherwise take it."""
    import flowlake.quality as quality

    check_table = quality.check_table

    def waited(*args, **kwargs):
        if "ge_import" not in calls:
            started = time.monotonic()
            importlib.import_module("great_expectations")  # the background import's remaining seconds
            seconds["ge_import"] += time.monotonic() - started
            calls["ge_import"] += 1
        return check_table(*args, **kwargs)
    for module in [m for name, m in sys.modules.items() if name.startswith("flowlake")]:
        if getattr(module, "check_table", None) is check_table:
            module.check_table = waited


def record_stages() -> None:
    """Keep each stage's name and seconds, as its '[run] <stage> done' line prints them."""
    import flowlake.progress as progress

    exit_stage = progress.StageTimer.__exit__

    def recorded(self, *exc):
        result = exit_stage(self, *exc)
        stage_lines.append((self.name, round(self.progress.stages[-1][3], 1)))
        return result
    progress.StageTimer.__exit__ = recorded


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--stages", default="bronze,silver,gold")
    parser.add_argument("--label", default="", help="a name for this run in the JSON line")
    args = parser.parse_args(argv)

    started = time.monotonic()
    ge_import_wait()
    instrument()
    record_stages()
    from flowlake.config import load_config
    from flowlake.runner import run_stages

    run_stages(load_config(args.config), args.stages.split(","), "flowlake-run")
    record = {"label": args.label, "stages": args.stages, "total_s": round(time.monotonic() - started, 1),
              "pieces": {p: {"s": round(seconds[p], 1), "calls": calls[p], "spark_jobs": spark_jobs[p]}
                         for p in ["session", "ge_import", *[p for p in PIECES if p != "session"]] if calls[p]},
              "stage_seconds": stage_lines}
    print(json.dumps(record), flush=True)
    return record


if __name__ == "__main__":
    main()
