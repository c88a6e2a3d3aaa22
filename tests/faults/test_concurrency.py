"""Two `flowlake run` processes at once on the same warehouse: no torn table, nothing twice.

Both start on an empty warehouse with the same dumps, the second after a seeded stagger, so
their commits to the same Delta tables interleave. Whichever commits second to a table meets
a Delta conflict (a concurrent append, delete or table creation); each run must then either
finish or stop with a message saying another run changed the table, and once both have
ended every table must equal the undisturbed reference with no flow lost or held twice.
"""

from __future__ import annotations

import random
import subprocess
import time

import pytest

from tests.faults.conftest import lake_config
from tests.faults.harness import TRIALS, convergence, flowlake_command, record_result, trial_seed

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.mark.parametrize("trial", range(TRIALS))
def test_two_runs_at_once_leave_the_reference_tables(spark, fault_lake, tmp_path, trial):
    started = time.monotonic()
    config = lake_config(tmp_path, fault_lake.raw)
    seed = trial_seed("concurrency", trial)
    stagger = round(random.Random(seed).uniform(0.0, 3.0), 3)
    command = flowlake_command("run", "--config", config.path, "--stages", "bronze,silver,gold")
    logs = [tmp_path / f"run-{i}.log" for i in (1, 2)]
    runs = []
    for i, log in enumerate(logs):
        if i:
            time.sleep(stagger)
        with open(log, "w") as out:
            runs.append(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
    # A guard against a hung run, not a speed goal: two JVMs share 2 cores here.
    codes = [run.wait(timeout=1800) for run in runs]
    outputs = [log.read_text() for log in logs]
    replay = f"seed {seed}, second run {stagger}s after the first, exit codes {codes}"

    figures = convergence(spark, config, fault_lake.rows, fault_lake.truth)
    conflicts = [line for out in outputs for line in out.splitlines() if "another run" in line]
    record_result("two runs at once", trial=trial, seed=seed, stagger=stagger, exit_codes=codes,
                  conflicts_reported=conflicts, seconds=round(time.monotonic() - started, 1), **figures)
    assert 0 in codes, f"{replay}: neither run finished:\n{outputs[0][-3000:]}\n{outputs[1][-3000:]}"
    for code, out in zip(codes, outputs):
        if code:
            assert "another run" in out and "Traceback" not in out, f"{replay}: not a clean failure:\n{out[-3000:]}"
    assert figures["tables_equal"], f"{replay}: {figures['differences']}"
    assert (figures["rows_lost"], figures["duplicates"]) == (0, 0), f"{replay}: {figures}"
