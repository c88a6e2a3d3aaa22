"""What the fault tests share: killing a real job process, reading a whole lake, counting flows.

- `kill_during` starts a flowlake command in a session of its own, waits for a stage's start
  line, then for a seeded number of writes and a seeded pause (`KillPoint`), and SIGKILLs the
  whole session (the Python driver and its JVM), as a host losing power would.
- `lake_rows` reads every row of every table of a warehouse, leaving out only the columns
  that hold the wall-clock time of a run, so two lakes built from the same dumps compare equal.
- `flow_accounting` counts the flows each layer lost or holds twice against the generator's
  ground truth.
- `record_result` appends one JSON line per trial to .run/faults/results.jsonl, the figures
  RELIABILITY.md is filled from (`python -m tests.faults.summary`).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import functions as F

from flowlake.stages import TABLES
from flowlake.tables import table_exists

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / ".run" / "faults" / "results.jsonl"
TRIALS = int(os.environ.get("FLOWLAKE_FAULT_TRIALS", "1"))
# Every kill point derives from this seed; FLOWLAKE_FAULT_SEED=<seed printed by a failure> replays it.
BASE_SEED = int(os.environ.get("FLOWLAKE_FAULT_SEED", "20171101"))
# Stamped with the run's clock, not derived from the dumps: two correct runs differ there.
WALL_CLOCK_COLUMNS = ("ingested_at",)
# The key silver deduplicates on: one conversation, however often it was reported.
FLOW_KEY = ("internal_ip", "internal_port", "remote_ip", "remote_port", "protocol", "ts")
RAW_ROOT = re.compile(r"^[a-z0-9]+:/*[^ ]*?/raw/")


@dataclass(frozen=True)
class KillPoint:
    """Where a trial kills the job: after `writes` more writes than at the stage's start, plus `delay` s."""

    seed: int
    writes: int
    delay: float

    @classmethod
    def draw(cls, seed: int, max_writes: int, max_delay: float) -> "KillPoint":
        rng = random.Random(seed)
        return cls(seed, rng.randint(0, max_writes), round(rng.uniform(0.0, max_delay), 3))


@dataclass(frozen=True)
class KillOutcome:
    point: KillPoint
    writes_before_kill: int
    finished_before_kill: bool
    seconds_to_kill: float
    log: str


def trial_seed(scenario: str, trial: int) -> int:
    return BASE_SEED + 1000 * trial + sum(map(ord, scenario))


def flowlake_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "flowlake"), *args]


def delta_commits(layer_dir: Path) -> int:
    """Commits made so far to the tables under `layer_dir` (a table not created yet has none)."""
    return len(list(layer_dir.glob("*/_delta_log/*.json")))


def kill_during(command: list[str], stage_line: str, point: KillPoint, writes: Callable[[], int],
                log_path: Path, timeout: float = 900) -> KillOutcome:
    """Run `command` until its stderr shows `stage_line` and `point` is reached, then SIGKILL it all."""
    started = time.monotonic()
    log = open(log_path, "w")
    job = subprocess.Popen(command, stdout=log, stderr=subprocess.PIPE, text=True, start_new_session=True)
    reached = threading.Event()

    def copy_stderr():
        for line in job.stderr:
            log.write(line)
            log.flush()
            if stage_line in line:
                reached.set()
    reader = threading.Thread(target=copy_stderr, daemon=True)
    reader.start()
    try:
        while not reached.wait(0.05):
            assert job.poll() is None, f"the job exited ({job.returncode}) before {stage_line!r}; see {log_path}"
            assert time.monotonic() - started < timeout, f"no {stage_line!r} within {timeout}s; see {log_path}"
        base = writes()
        while writes() - base < point.writes and job.poll() is None:
            time.sleep(0.02)
        time.sleep(point.delay)
        finished = job.poll() is not None
        done = writes() - base
    finally:
        try:
            os.killpg(job.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        job.wait()
        reader.join(10)
        log.close()
    return KillOutcome(point, done, finished, round(time.monotonic() - started, 1), log_path.read_text()[-3000:])


def relative(value):
    """A raw object's URI as its key below the `raw/` folder every lake of the suite reads
    (file:// or s3a://), so lakes built from copies of the same dumps compare equal."""
    return RAW_ROOT.sub("", value) if isinstance(value, str) else value


def lake_rows(spark, config, drop: tuple[str, ...] = ()) -> dict[str, Counter]:
    """Every row of every table, as a multiset per table, raw object URIs made `relative`."""
    lake = {}
    for layer, table in TABLES:
        path = config.table_uri(layer, table)
        if not table_exists(spark, path):
            lake[f"{layer}.{table}"] = Counter()
            continue
        df = spark.read.format("delta").load(path)
        df = df.drop(*(c for c in (*WALL_CLOCK_COLUMNS, *drop) if c in df.columns))
        lake[f"{layer}.{table}"] = Counter(tuple(relative(v) for v in row) for row in df.collect())
    return lake


def lake_differences(actual: dict[str, Counter], expected: dict[str, Counter]) -> dict[str, dict]:
    """Per table that differs: how many rows are missing, how many extra, and a few of each."""
    differences = {}
    for table, rows in expected.items():
        missing, extra = rows - actual[table], actual[table] - rows
        if missing or extra:
            differences[table] = {"missing": sum(missing.values()), "extra": sum(extra.values()),
                                  "missing_sample": list(missing)[:3], "extra_sample": list(extra)[:3]}
    return differences


def flow_accounting(spark, config, truth: dict) -> dict[str, int]:
    """Flows lost and held twice, per layer, against the ground truth: every figure must be 0.

    Bronze holds every exporter record once per (object, line); silver each conversation once
    per FLOW_KEY; gold's daily service usage counts every flow the monitored hosts started once
    per day (sampling estimates, as the truth's `usage_flows_by_day`).
    """
    bronze = spark.read.format("delta").load(config.table_uri("bronze", "flows"))
    silver = spark.read.format("delta").load(config.table_uri("silver", "flows"))
    gold = spark.read.format("delta").load(config.table_uri("gold", "service_usage_daily"))
    bronze_rows, bronze_distinct = bronze.count(), bronze.select("source_object", "line_number").distinct().count()
    silver_rows, silver_distinct = silver.count(), silver.select(*FLOW_KEY).distinct().count()
    gold_by_day = {r.day.isoformat(): r.flows for r in gold.groupBy("day").agg(F.sum("flows").alias("flows")).collect()}
    gold_off = {d: gold_by_day.get(d, 0) - n for d, n in truth["usage_flows_by_day"].items()}
    return {
        "bronze_lost": truth["records"] - bronze_distinct, "bronze_duplicates": bronze_rows - bronze_distinct,
        "silver_lost": truth["flows"] - silver_distinct, "silver_duplicates": silver_rows - silver_distinct,
        "gold_lost": -sum(min(0, off) for off in gold_off.values()),
        "gold_duplicates": sum(max(0, off) for off in gold_off.values()),
    }


def convergence(spark, config, expected_rows: dict[str, Counter], truth: dict, drop: tuple[str, ...] = ()) -> dict:
    """How a lake stands after a fault: the tables differing from `expected_rows`, and the flows
    lost and held twice (in total and per layer) against the ground truth."""
    accounting = flow_accounting(spark, config, truth)
    differences = lake_differences(lake_rows(spark, config, drop), expected_rows)
    return {"tables_equal": not differences, "differences": differences,
            "rows_lost": sum(v for k, v in accounting.items() if k.endswith("_lost")),
            "duplicates": sum(v for k, v in accounting.items() if k.endswith("_duplicates")), **accounting}


def record_result(scenario: str, **figures) -> None:
    """One trial's figures, a JSON line in RESULTS (the differing rows themselves stay in the assertion)."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    figures = {k: v for k, v in figures.items() if k != "differences"}
    with open(RESULTS, "a") as out:
        out.write(json.dumps({"scenario": scenario, "trials_setting": TRIALS, **figures}, default=str) + "\n")
