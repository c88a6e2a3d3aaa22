"""What the fault tests share: killing a real job process, reading a whole lake, counting flows.

- `kill_during` starts a flowlake command in a session of its own, waits for a stage's start
  line, then until the commits before the one it aims at exist and a seeded pause (`KillPoint`),
  and SIGKILLs the whole session (the Python driver and its JVM), as a host losing power would;
  it records which of the stage's commits (in an undisturbed reference run) had happened.
  `aimed_kill` draws the point uniformly over the stage's commits and, when a kill came after
  the stage's last commit (the job had done its work: nothing was tested), starts over at an
  earlier point, at most KILL_ATTEMPTS times. Writes too close together to watch (a report's
  files, milliseconds apart) are aimed at with the job's own pause point instead
  (`KillPoint.paused`, `pause_before`): the job stops before the write aimed at and is killed there.
- `delta_commits` and `commit_log` list the Delta commits under a warehouse (`table@version`),
  the latter in the order they were made, from each commit's commitInfo.
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
from dataclasses import dataclass, replace
from pathlib import Path

from pyspark.sql import functions as F

from flowlake.stages import TABLES
from flowlake.storage import PAUSE_BEFORE_WRITE, PAUSE_LINE
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
COMMIT = re.compile(r"^\d{20}\.json$")
# A trial whose kill lands after the stage's last commit is tried again, aimed earlier, this often in all.
KILL_ATTEMPTS = 3


@dataclass(frozen=True)
class Commit:
    """One Delta commit: `table@version` (the table's path below the warehouse), its operation
    (WRITE, MERGE, OPTIMIZE, VACUUM END, ...) and when it was made (epoch seconds)."""

    name: str
    operation: str
    at: float


@dataclass(frozen=True)
class KillPoint:
    """Where a trial kills the job: just before the stage's commit number `aim` (0-based, in the
    reference run's order), that is once the `aim` commits before it exist and `delay` s more."""

    seed: int
    aim: int
    delay: float
    attempt: int = 0

    @classmethod
    def draw(cls, seed: int, reference: list[Commit], first_gap: float, attempt: int = 0) -> "KillPoint":
        """The commit aimed at is uniform over the stage's commits, the delay uniform over the
        reference's pause before it (`first_gap` s before its first commit, which the reference
        does not time). A retry keeps the draw and aims earlier: a quarter of the delay each
        time, and from the third attempt on, one commit earlier."""
        rng = random.Random(seed)
        aim = rng.randrange(len(reference))
        gap = reference[aim].at - reference[aim - 1].at if aim else first_gap
        delay = rng.uniform(0.0, gap) * 0.25 ** attempt
        return cls(seed, max(0, aim - attempt // 2), round(delay, 3), attempt)

    @classmethod
    def paused(cls, seed: int, reference: list[Commit]) -> "KillPoint":
        """The commit `draw` aims at for `seed`, for a job that pauses just before it (`pause_before`)."""
        return cls(seed, random.Random(seed).randrange(len(reference)), 0.0)


@dataclass(frozen=True)
class KillOutcome:
    point: KillPoint
    stage_commits: tuple[str, ...]  # the stage's commits in the reference run, in order
    commits_before_kill: tuple[str, ...]  # those of them that had happened when the job was killed
    finished_before_kill: bool
    seconds_to_kill: float
    log: str
    retried: tuple[KillPoint, ...] = ()  # earlier attempts, killed after the stage's last commit

    @property
    def before_last_commit(self) -> bool:
        """Whether the kill interrupted the stage: a trial is counted only then."""
        return len(self.commits_before_kill) < len(self.stage_commits)

    def figures(self) -> dict:
        """What `record_result` keeps of a kill."""
        return {"seed": self.point.seed, "aimed_at": self.point.aim, "delay": self.point.delay,
                "stage_commits": len(self.stage_commits), "commits_before_kill": len(self.commits_before_kill),
                "killed_after": list(self.commits_before_kill[-1:]), "before_last_commit": self.before_last_commit,
                "finished_before_kill": self.finished_before_kill, "kills": 1 + len(self.retried),
                "kills_after_last_commit": len(self.retried) + (not self.before_last_commit)}

    def replay(self) -> str:
        return (f"{self.point} (FLOWLAKE_FAULT_SEED replays it), killed after {len(self.commits_before_kill)} of the "
                f"stage's {len(self.stage_commits)} commits {list(self.commits_before_kill[-1:])}")


def trial_seed(scenario: str, trial: int) -> int:
    return BASE_SEED + 1000 * trial + sum(map(ord, scenario))


def flowlake_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "flowlake"), *args]


def commit_files(warehouse: Path, layers: tuple[str, ...] = ("bronze", "silver", "gold")) -> list[Path]:
    return [log for layer in layers for log in (warehouse / layer).glob("*/_delta_log/*.json") if COMMIT.match(log.name)]


def commit_name(warehouse: Path, log: Path) -> str:
    return f"{log.parent.parent.relative_to(warehouse)}@{int(log.name[:20])}"


def delta_commits(warehouse: Path, layers: tuple[str, ...] = ("bronze", "silver", "gold")) -> set[str]:
    """The commits made so far to the tables of `layers` under `warehouse`, as `table@version`
    (`silver/flows@1`); a table not created yet has none."""
    return {commit_name(warehouse, log) for log in commit_files(warehouse, layers)}


def commit_log(warehouse: Path, layers: tuple[str, ...] = ("bronze", "silver", "gold"),
               since: set[str] = frozenset()) -> list[Commit]:
    """The commits under `warehouse` that are not in `since`, in the order they were made."""
    commits = []
    for log in commit_files(warehouse, layers):
        if (name := commit_name(warehouse, log)) not in since:
            info = next(json.loads(line)["commitInfo"] for line in log.read_text().splitlines() if '"commitInfo"' in line)
            commits.append(Commit(name, info["operation"], info["timestamp"] / 1000))
    return sorted(commits, key=lambda c: (c.at, c.name))


def pause_before(key_end: str) -> tuple[str, dict[str, str]]:
    """The stage line and environment that stop a job just before it writes the object whose key
    ends with `key_end` (flowlake.storage's pause point), for `kill_during`."""
    return PAUSE_LINE, {PAUSE_BEFORE_WRITE: key_end}


def kill_during(command: list[str], stage_line: str, point: KillPoint, stage_commits: list[str],
                commits: Callable[[], set[str]], log_path: Path, timeout: float = 900,
                env: dict[str, str] | None = None) -> KillOutcome:
    """Run `command` (with `env` added to the environment) until its stderr shows `stage_line` and
    `point` is reached, then SIGKILL it all; `commits()` says which of `stage_commits` (or other
    writes, such as published files) exist."""
    started = time.monotonic()
    log = open(log_path, "w")
    job = subprocess.Popen(command, stdout=log, stderr=subprocess.PIPE, text=True, start_new_session=True,
                           env={**os.environ, **(env or {})})
    reached = threading.Event()
    expected = set(stage_commits)

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
        while len(commits() & expected) < point.aim and job.poll() is None:
            time.sleep(0.02)
        time.sleep(point.delay)
        finished = job.poll() is not None
    finally:
        try:
            os.killpg(job.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        job.wait()
        reader.join(10)
        log.close()
    # Read once the job is dead: a commit file is written whole (renamed into place) or not at all.
    done = tuple(name for name in stage_commits if name in commits())
    return KillOutcome(point, tuple(stage_commits), done, finished, round(time.monotonic() - started, 1),
                       log_path.read_text()[-3000:])


def aimed_kill(command: list[str], stage_line: str, seed: int, reference: list[Commit], first_gap: float,
               commits: Callable[[], set[str]], prepare: Callable[[], None], log_path: Path) -> KillOutcome:
    """`kill_during` at a point drawn for `seed` over the stage's `reference` commits. A kill
    that came after the stage's last commit tested nothing: `prepare()` restores the trial's
    starting state and the job is killed again, aimed earlier, at most KILL_ATTEMPTS times in all."""
    assert reference, f"the reference run made no commit in the stage {command}"
    names, retried = [c.name for c in reference], []
    for attempt in range(KILL_ATTEMPTS):
        prepare()
        point = KillPoint.draw(seed, reference, first_gap, attempt)
        outcome = kill_during(command, stage_line, point, names, commits, log_path)
        if outcome.before_last_commit or attempt == KILL_ATTEMPTS - 1:
            return replace(outcome, retried=tuple(retried))
        retried.append(point)


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
    per day (sampling estimates, as the truth's `usage_flows_by_day`). Bronze's DNS answers and
    quarantined lines, which the truth does not count, are checked for lines held twice (their
    losses show as rows missing against the reference, `lake_differences`).
    """
    held_twice = {}
    for table in ("dns", "quarantine"):
        path = config.table_uri("bronze", table)
        rows = spark.read.format("delta").load(path) if table_exists(spark, path) else None
        held_twice[f"{table}_duplicates"] = 0 if rows is None else (
            rows.count() - rows.select("source_object", "line_number").distinct().count())
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
        "gold_duplicates": sum(max(0, off) for off in gold_off.values()), **held_twice,
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
