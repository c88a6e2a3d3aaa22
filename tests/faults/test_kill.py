"""SIGKILL of the real job process in the middle of each layer's write; the re-run converges.

Each trial starts a `flowlake` command in a process session of its own on a warehouse holding
the layers before the one under test (copied from the reference), waits for that layer's write
stage, then for a seeded number of table commits (or report files) and a seeded pause, and
kills the driver and its JVM with SIGKILL. The re-run (every stage, as an operator or
Airflow's retry would run it) must then leave every table equal to the undisturbed
reference, row for row, with no flow lost or held twice against the ground truth.

`make test` runs the reduced form: one trial of the kill during silver's write (the layer whose
load rewrites whole days of one table). `make faults` runs every layer and the report delivery,
FLOWLAKE_FAULT_TRIALS trials each; a failure names the seed, which FLOWLAKE_FAULT_SEED replays.
"""

from __future__ import annotations

import shutil
import time
import uuid

import pytest

from flowlake.progress import Progress
from flowlake.reports.deliver import RECORD
from flowlake.storage import local_path
from tests.faults.conftest import LAST_DAY, RUN_TIME, build_lake, lake_config
from tests.faults.harness import (
    TRIALS, KillPoint, convergence, delta_commits, flowlake_command, kill_during, record_result, trial_seed,
)

pytestmark = pytest.mark.integration

# Per layer: the layers the trial starts from, its stage line, and how many writes its load
# makes (bronze: flows, dns, quarantine, manifest; silver: rows, properties; gold: four tables'
# rows, then their properties), so a kill point falls anywhere among them.
LAYERS = {
    "bronze": ((), 3),
    "silver": (("bronze",), 1),
    "gold": (("bronze", "silver"), 7),
}
MAX_DELAY = 0.8
# The one layer `make test` kills (unmarked); the others are `make faults` only.
REDUCED_FORM_LAYER = "silver"


def copy_layers(reference, trial, layers) -> None:
    for layer in layers:
        shutil.copytree(local_path(reference.warehouse_uri) / layer, local_path(trial.warehouse_uri) / layer)


@pytest.mark.parametrize("trial", range(TRIALS))
@pytest.mark.parametrize("layer", [pytest.param(layer, marks=() if layer == REDUCED_FORM_LAYER else pytest.mark.faults)
                                   for layer in LAYERS])
def test_a_job_killed_while_it_writes_reruns_to_the_reference_tables(spark, fault_lake, tmp_path, layer, trial):
    started = time.monotonic()
    before, max_writes = LAYERS[layer]
    config = lake_config(tmp_path, fault_lake.raw)
    copy_layers(fault_lake.config, config, before)
    point = KillPoint.draw(trial_seed(layer, trial), max_writes, MAX_DELAY)
    layer_dir = local_path(config.warehouse_uri) / layer
    outcome = kill_during(flowlake_command("run", "--config", config.path, "--stages", layer), "[run] load ...",
                          point, lambda: delta_commits(layer_dir), tmp_path / "killed-job.log")
    replay = f"{point} (FLOWLAKE_FAULT_SEED replays it), killed after {outcome.writes_before_kill} commits"

    build_lake(spark, config)
    figures = convergence(spark, config, fault_lake.rows, fault_lake.truth)
    record_result(f"kill -9 during {layer} write", trial=trial, seed=point.seed, delay=point.delay,
                  writes_awaited=point.writes, commits_before_kill=outcome.writes_before_kill,
                  finished_before_kill=outcome.finished_before_kill, seconds=round(time.monotonic() - started, 1),
                  **figures)
    assert figures["tables_equal"], f"{replay}: the re-run differs from the reference: {figures['differences']}"
    assert (figures["rows_lost"], figures["duplicates"]) == (0, 0), f"{replay}: {figures}"


@pytest.mark.faults
@pytest.mark.parametrize("trial", range(TRIALS))
def test_a_report_job_killed_while_it_delivers_reruns_to_one_published_and_mailed_report(
        spark, fault_lake, smtp_maildir, tmp_path, trial):
    from flowlake.reports.job import run_report

    started = time.monotonic()
    # The SMTP server's maildir outlives the session: a recipient of this trial's own counts its mail.
    trial_dir = tmp_path / f"trial-{uuid.uuid4().hex[:12]}"
    trial_dir.mkdir(), (tmp_path / "reference").mkdir()
    config = lake_config(trial_dir, fault_lake.raw)
    copy_layers(fault_lake.config, config, ("bronze", "silver", "gold"))
    # The undisturbed delivery, from the same tables (the report names their paths and versions).
    reference_config = lake_config(tmp_path / "reference", fault_lake.raw, warehouse_uri=config.warehouse_uri)
    run_report(spark, reference_config, "overseas", LAST_DAY, RUN_TIME, False, False, Progress("test"))
    recipient = config.reports.recipients[0]
    reports = local_path(config.reports_uri)

    def mailed():
        return sum(1 for message in smtp_maildir if message["To"] == recipient)

    def files():
        return sum(1 for p in reports.rglob("*") if p.is_file()) if reports.is_dir() else 0
    point = KillPoint.draw(trial_seed("delivery", trial), 8, 0.3)
    outcome = kill_during(flowlake_command("report", "--config", config.path, "--name", "overseas", "--as-of",
                                           LAST_DAY.isoformat(), "--email"),
                          "[report] deliver ...", point, files, tmp_path / "killed-job.log")
    replay = f"{point} (FLOWLAKE_FAULT_SEED replays it), killed after {outcome.writes_before_kill} files"
    mailed_at_kill, recorded_at_kill = mailed(), any(reports.rglob(RECORD))

    result = run_report(spark, config, "overseas", LAST_DAY, RUN_TIME, True, False, Progress("test"))
    published = {p.relative_to(reports): p.read_bytes() for p in reports.rglob("*") if p.is_file() and p.name != RECORD}
    expected = {p.relative_to(local_path(reference_config.reports_uri)): p.read_bytes()
                for p in local_path(reference_config.reports_uri).rglob("*") if p.is_file()}
    # Mail is at least once: a kill after the server took the message and before delivery.json
    # was written leaves no record, and the re-run mails the period again.
    resent = mailed_at_kill and not recorded_at_kill
    record_result("kill -9 during report delivery", trial=trial, seed=point.seed, delay=point.delay,
                  writes_awaited=point.writes, files_before_kill=outcome.writes_before_kill,
                  finished_before_kill=outcome.finished_before_kill, mailed_before_kill=mailed_at_kill,
                  emails=mailed(), files_equal=published == expected, rows_lost=0,
                  duplicates=mailed() - 1 - int(resent), seconds=round(time.monotonic() - started, 1))
    assert sorted(published) == sorted(expected), replay
    assert [name for name in expected if published[name] != expected[name]] == [], replay
    assert result["emailed"] == (not recorded_at_kill), replay
    assert mailed() == 1 + int(resent), f"{replay}: {mailed()} messages to {recipient}"
