"""The fault suite's aiming and counting (tests/faults/harness.py, tests/faults/summary.py), on
hand-made Delta logs and results: where a kill is aimed, when it counts, what the table says;
and the job's pause point the harness kills at (flowlake.storage)."""

from __future__ import annotations

import json

import pytest

from flowlake import storage
from flowlake.config import S3Settings
from tests.faults.harness import KILL_ATTEMPTS, Commit, KillOutcome, KillPoint, commit_log, delta_commits, pause_before
from tests.faults.summary import scenario_rows

REFERENCE = [Commit("silver/flows@0", "WRITE", 100.0), Commit("silver/flows@1", "SET TBLPROPERTIES", 102.0),
             Commit("gold/a@0", "WRITE", 110.0)]


def write_commit(warehouse, table: str, version: int, operation: str, millis: int) -> None:
    log = warehouse / table / "_delta_log"
    log.mkdir(parents=True, exist_ok=True)
    (log / f"{version:020d}.json").write_text(
        json.dumps({"commitInfo": {"timestamp": millis, "operation": operation}}) + "\n" + '{"add": {}}\n')


def test_the_commit_log_lists_each_layers_commits_in_the_order_they_were_made(tmp_path):
    write_commit(tmp_path, "bronze/flows", 0, "WRITE", 5_000)
    write_commit(tmp_path, "bronze/flows", 1, "OPTIMIZE", 9_000)
    write_commit(tmp_path, "bronze/dns", 0, "WRITE", 6_000)
    write_commit(tmp_path, "silver/flows", 0, "WRITE", 7_000)
    (tmp_path / "bronze/dns/_delta_log/00000000000000000000.crc").write_text("{}")
    (tmp_path / "bronze/dns/_delta_log/.00000000000000000001.json.tmp").write_text("{}")

    assert delta_commits(tmp_path, ("bronze",)) == {"bronze/flows@0", "bronze/flows@1", "bronze/dns@0"}
    assert commit_log(tmp_path, ("bronze",)) == [Commit("bronze/flows@0", "WRITE", 5.0),
                                                 Commit("bronze/dns@0", "WRITE", 6.0),
                                                 Commit("bronze/flows@1", "OPTIMIZE", 9.0)]
    assert [c.name for c in commit_log(tmp_path, since={"bronze/flows@0", "bronze/dns@0"})] == [
        "silver/flows@0", "bronze/flows@1"]


def test_kills_are_aimed_at_every_commit_within_the_pause_before_it():
    points = [KillPoint.draw(seed, REFERENCE, first_gap=0.5) for seed in range(300)]
    assert {p.aim for p in points} == {0, 1, 2}
    for p in points:
        assert 0 <= p.delay <= {0: 0.5, 1: 2.0, 2: 8.0}[p.aim]
    assert KillPoint.draw(7, REFERENCE, 0.5) == KillPoint.draw(7, REFERENCE, 0.5)


def test_a_retried_kill_is_aimed_earlier_each_time():
    seed = next(s for s in range(100) if KillPoint.draw(s, REFERENCE, 0.5).aim == 2)
    tries = [KillPoint.draw(seed, REFERENCE, 0.5, attempt) for attempt in range(KILL_ATTEMPTS)]
    assert [t.aim for t in tries] == [2, 2, 1]
    assert tries[0].delay > tries[1].delay > tries[2].delay >= 0


def test_a_paused_kill_aims_where_a_watched_one_would_without_a_delay():
    for seed in range(50):
        assert KillPoint.paused(seed, REFERENCE) == KillPoint(seed, KillPoint.draw(seed, REFERENCE, 0.5).aim, 0.0)


def test_a_job_pauses_before_the_write_its_environment_names_and_writes_nothing_there(tmp_path, monkeypatch, capsys):
    """The pause point (flowlake.storage): a write whose key ends otherwise goes through; the one
    named stops before anything is written, and fails once the pause ends with no kill."""
    stage_line, env = pause_before("overseas/2017-10-01_2017-12-31/delivery.json")
    monkeypatch.setenv(*next(iter(env.items())))
    monkeypatch.setattr(storage, "PAUSE_SECONDS", 0)
    folder = tmp_path / "reports" / "overseas" / "2017-10-01_2017-12-31"
    storage.write_object(f"file://{folder}/report.html", b"<html>", S3Settings())
    storage.write_object(f"file://{folder}/old-delivery.json", b"{}", S3Settings())
    with pytest.raises(RuntimeError, match="nothing killed it"):
        storage.write_object(f"file://{folder}/delivery.json", b"{}", S3Settings())
    assert sorted(p.name for p in folder.iterdir()) == ["old-delivery.json", "report.html"]
    assert capsys.readouterr().err.startswith(f"{stage_line}file://{folder}/delivery.json")


def outcome(done: int, retried: int = 0) -> KillOutcome:
    point = KillPoint(1, min(done, 2), 0.1)
    return KillOutcome(point, tuple(c.name for c in REFERENCE), tuple(c.name for c in REFERENCE[:done]), False, 3.0,
                       "", (point,) * retried)


def test_only_a_kill_before_the_stages_last_commit_counts():
    assert outcome(2).before_last_commit
    assert not outcome(3).before_last_commit
    assert outcome(1, retried=2).figures() | {"seed": 1} == {
        "seed": 1, "aimed_at": 1, "delay": 0.1, "stage_commits": 3, "commits_before_kill": 1,
        "killed_after": ["silver/flows@0"], "before_last_commit": True, "finished_before_kill": False, "kills": 3,
        "kills_after_last_commit": 2}


def test_the_summary_counts_kills_before_the_last_commit_and_the_trials_that_count():
    figures = {"rows_lost": 0, "duplicates": 0, "tables_equal": True, "seconds": 10}
    results = [{"scenario": "kill", **figures, **outcome(2, retried=1).figures()},
               {"scenario": "kill", **figures, **outcome(3, retried=2).figures()},
               {"scenario": "late dump", **figures}]
    rows = scenario_rows(results)
    assert rows[2] == ("| kill | 2 | 1 of 5 | 1 | 0 | 0 | yes | 2/3 commits (aimed 2) + 0.1s; "
                              "3/3 commits (aimed 2) + 0.1s (after the last commit) | 10 |")
    assert rows[3] == "| late dump | 1 | - | 1 | 0 | 0 | yes | - | 10 |"
