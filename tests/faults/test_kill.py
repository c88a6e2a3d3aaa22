"""SIGKILL of the real job process in the middle of each layer's write; the re-run converges.

Each trial starts a `flowlake` command in a process session of its own on a warehouse holding
the layers before the one under test (copied from the reference), waits for that layer's write
stage, then aims its kill just before one of the commits (or report files) the layer made in the
undisturbed reference run, drawn uniformly from them, and kills the driver and its JVM with
SIGKILL. A kill that came after the layer's last commit is tried again at an earlier point
(harness.aimed_kill). The report delivery's files are written milliseconds apart, so its job
pauses just before the file aimed at (flowlake.storage's pause point) and is killed there: after
the files before it, and for the delivery record, after the mail was sent. The re-run (every
stage, as an operator or Airflow's retry would run it) must then leave every table equal to the
undisturbed reference, row for row, with no flow lost or held twice against the ground truth.

`flowlake maintain` is killed the same way during OPTIMIZE and during VACUUM (VACUUM with no
retention, so that it deletes the files OPTIMIZE compacted away); maintenance then runs again,
and a run, and every table must read whole and equal the reference.

`make test` runs the reduced form: one trial of the kill during silver's write (the layer whose
load rewrites whole days of one table). `make faults` runs every layer, the report delivery and
both maintenance stages, FLOWLAKE_FAULT_TRIALS trials each; a failure names the seed, which
FLOWLAKE_FAULT_SEED replays.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import pytest

from flowlake.progress import Progress
from flowlake.reports.deliver import RECORD
from flowlake.reports.reproduce import MANIFEST
from flowlake.storage import local_path
from tests.faults.conftest import LAST_DAY, RUN_TIME, build_lake, lake_config
from tests.faults.harness import (
    TRIALS, Commit, KillPoint, aimed_kill, commit_log, convergence, delta_commits, flowlake_command, kill_during,
    pause_before, record_result, trial_seed,
)

pytestmark = pytest.mark.integration

# Per layer: the layers the trial starts from.
LAYERS = {"bronze": (), "silver": ("bronze",), "gold": ("bronze", "silver")}
# The reference is not timed before a stage's first commit: a kill aimed there waits up to this long.
FIRST_GAP = 0.8
# The one layer `make test` kills (unmarked); the others are `make faults` only.
REDUCED_FORM_LAYER = "silver"
# The maintenance stages a kill is aimed at, by the operations of the commits each makes.
MAINTENANCE_STAGES = {"optimize": ("OPTIMIZE",),
                      "vacuum": ("VACUUM START", "VACUUM END", "SET TBLPROPERTIES", "UNSET TBLPROPERTIES")}
# No retention: VACUUM deletes every file OPTIMIZE has just compacted away, so a kill during
# VACUUM lands among real deletions (at the default 168 hours a fresh lake has none to delete).
NO_RETENTION = {"vacuum_retention_hours": 0}


def copy_layers(reference, trial, layers) -> None:
    for layer in layers:
        shutil.copytree(local_path(reference.warehouse_uri) / layer, local_path(trial.warehouse_uri) / layer)


def delivery_steps(reference_config) -> list[Commit]:
    """The files an undisturbed delivery publishes, in the order it wrote them, then the
    delivery record a mailing job writes once the mail is sent."""
    folder = local_path(reference_config.reports_uri)
    files = sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.stat().st_mtime_ns)
    steps = [Commit(str(p.relative_to(folder)), "publish", p.stat().st_mtime) for p in files]
    manifest = next(Path(step.name) for step in steps if step.name.endswith(MANIFEST))
    return [*steps, Commit(str(manifest.with_name(RECORD)), "record", steps[-1].at)]


@pytest.mark.parametrize("trial", range(TRIALS))
@pytest.mark.parametrize("layer", [pytest.param(layer, marks=() if layer == REDUCED_FORM_LAYER else pytest.mark.faults)
                                   for layer in LAYERS])
def test_a_job_killed_while_it_writes_reruns_to_the_reference_tables(spark, fault_lake, tmp_path, layer, trial):
    started = time.monotonic()
    config = lake_config(tmp_path, fault_lake.raw)
    warehouse = local_path(config.warehouse_uri)

    def prepare():
        shutil.rmtree(warehouse, ignore_errors=True)
        copy_layers(fault_lake.config, config, LAYERS[layer])
    outcome = aimed_kill(flowlake_command("run", "--config", config.path, "--stages", layer), "[run] load ...",
                         trial_seed(layer, trial), commit_log(local_path(fault_lake.config.warehouse_uri), (layer,)),
                         FIRST_GAP, lambda: delta_commits(warehouse, (layer,)), prepare, tmp_path / "killed-job.log")

    build_lake(spark, config)
    figures = convergence(spark, config, fault_lake.rows, fault_lake.truth)
    record_result(f"kill -9 during {layer} write", trial=trial, seconds=round(time.monotonic() - started, 1),
                  **outcome.figures(), **figures)
    assert figures["tables_equal"], f"{outcome.replay()}: the re-run differs from the reference: {figures['differences']}"
    assert (figures["rows_lost"], figures["duplicates"]) == (0, 0), f"{outcome.replay()}: {figures}"


@pytest.mark.faults
@pytest.mark.parametrize("trial", range(TRIALS))
def test_a_report_job_killed_while_it_delivers_reruns_to_one_published_and_mailed_report(
        spark, fault_lake, smtp_maildir, tmp_path, trial):
    from flowlake.reports.job import run_report

    started = time.monotonic()
    # The SMTP server's maildir outlives the session: a recipient of this trial's own counts its mail.
    trial_dir = tmp_path / f"trial-{uuid.uuid4().hex[:12]}"
    trial_dir.mkdir(), (tmp_path / "reference").mkdir()
    # Pseudonymised as a mailed report is by default, said outright so that the undisturbed
    # delivery below, not mailed, is too: the manifest records the setting and the recipients.
    config = lake_config(trial_dir, fault_lake.raw, reports={"pseudonymise": True})
    copy_layers(fault_lake.config, config, ("bronze", "silver", "gold"))
    # The undisturbed delivery, from the same tables (the report names their paths and versions).
    reference_config = lake_config(tmp_path / "reference", fault_lake.raw, warehouse_uri=config.warehouse_uri,
                                   reports={"recipients": list(config.reports.recipients), "pseudonymise": True})
    run_report(spark, reference_config, "overseas", LAST_DAY, RUN_TIME, False, False, Progress("test"))
    recipient = config.reports.recipients[0]
    reports = local_path(config.reports_uri)

    def mailed():
        return sum(1 for message in smtp_maildir if message["To"] == recipient)

    def files():
        return {str(p.relative_to(reports)) for p in reports.rglob("*") if p.is_file()} if reports.is_dir() else set()

    # Its files are written milliseconds apart: the job pauses before the one aimed at and is killed there.
    steps = delivery_steps(reference_config)
    point = KillPoint.paused(trial_seed("delivery", trial), steps)
    pause_line, pause_env = pause_before(steps[point.aim].name)
    outcome = kill_during(flowlake_command("report", "--config", config.path, "--name", "overseas", "--as-of",
                                           LAST_DAY.isoformat(), "--email"),
                          pause_line, point, [step.name for step in steps], files, tmp_path / "killed-job.log",
                          env=pause_env)
    replay = outcome.replay()
    # (Files written within one tick of the file system's clock share a time, so the reference's
    # order among them is not the job's: what is sure is that the one aimed at was not written.)
    assert steps[point.aim].name not in outcome.commits_before_kill, replay
    mailed_at_kill, recorded_at_kill = mailed(), any(reports.rglob(RECORD))

    result = run_report(spark, config, "overseas", LAST_DAY, RUN_TIME, True, False, Progress("test"))
    published = {p.relative_to(reports): p.read_bytes() for p in reports.rglob("*") if p.is_file() and p.name != RECORD}
    expected = {p.relative_to(local_path(reference_config.reports_uri)): p.read_bytes()
                for p in local_path(reference_config.reports_uri).rglob("*") if p.is_file()}
    # Mail is at least once: a kill after the server took the message and before delivery.json
    # was written leaves no record, and the re-run mails the period again.
    resent = mailed_at_kill and not recorded_at_kill
    record_result("kill -9 during report delivery", trial=trial, **outcome.figures(), mailed_before_kill=mailed_at_kill,
                  emails=mailed(), files_equal=published == expected, rows_lost=0,
                  duplicates=mailed() - 1 - int(resent), seconds=round(time.monotonic() - started, 1))
    assert sorted(published) == sorted(expected), replay
    assert [name for name in expected if published[name] != expected[name]] == [], replay
    assert result["emailed"] == (not recorded_at_kill), replay
    assert mailed() == 1 + int(resent), f"{replay}: {mailed()} messages to {recipient}"


@pytest.fixture(scope="module")
def maintenance_commits(spark, fault_lake, tmp_path_factory) -> dict[str, list[Commit]]:
    """The commits an undisturbed maintenance run makes on a copy of the reference lake, per stage."""
    from flowlake.maintenance import run_maintenance

    config = lake_config(tmp_path_factory.mktemp("maintenance-reference"), fault_lake.raw, maintenance=NO_RETENTION)
    copy_layers(fault_lake.config, config, ("bronze", "silver", "gold"))
    before = delta_commits(local_path(config.warehouse_uri))
    run_maintenance(spark, config, LAST_DAY, Progress("test"))
    made = commit_log(local_path(config.warehouse_uri), since=before)
    return {stage: [c for c in made if c.operation in operations] for stage, operations in MAINTENANCE_STAGES.items()}


@pytest.mark.faults
@pytest.mark.parametrize("trial", range(TRIALS))
@pytest.mark.parametrize("stage", MAINTENANCE_STAGES)
def test_maintenance_killed_while_it_optimizes_or_vacuums_leaves_every_table_readable_and_the_reference_rows(
        spark, fault_lake, maintenance_commits, tmp_path, stage, trial):
    """`flowlake maintain` killed during OPTIMIZE or VACUUM, then maintenance again and a run:
    every table reads whole (a data file the current version needs, deleted, would fail the
    read) and holds the reference's rows, with nothing lost or held twice."""
    from flowlake.maintenance import run_maintenance

    started = time.monotonic()
    config = lake_config(tmp_path, fault_lake.raw, maintenance=NO_RETENTION)
    warehouse = local_path(config.warehouse_uri)

    def prepare():
        shutil.rmtree(warehouse, ignore_errors=True)
        copy_layers(fault_lake.config, config, ("bronze", "silver", "gold"))
    outcome = aimed_kill(flowlake_command("maintain", "--config", config.path, "--as-of", LAST_DAY.isoformat()),
                         f"[maintain] {stage} ...", trial_seed(stage, trial), maintenance_commits[stage], FIRST_GAP,
                         lambda: delta_commits(warehouse), prepare, tmp_path / "killed-job.log")

    run_maintenance(spark, config, LAST_DAY, Progress("test"))
    build_lake(spark, config)
    figures = convergence(spark, config, fault_lake.rows, fault_lake.truth)
    record_result(f"kill -9 during {stage.upper()}", trial=trial, seconds=round(time.monotonic() - started, 1),
                  **outcome.figures(), **figures)
    assert figures["tables_equal"], f"{outcome.replay()}: {figures['differences']}"
    assert (figures["rows_lost"], figures["duplicates"]) == (0, 0), f"{outcome.replay()}: {figures}"
