"""The benchmark's own pure pieces (bench/raw_to_gold.py): reading a run's stage lines, and a
Delta table's current files from its log, the memory of a process tree. Nothing here times anything."""

import json
import subprocess
import sys
import time

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from bench.raw_to_gold import delta_files, rss_by_kind, stage_seconds, tree_rss

RUN_LINES = [
    "[run] list done: 5 objects, 0 rows, 0 rows/s, 1.5s",
    "[run] parse done: 3 objects, 300 rows, 100 rows/s, 2.0s",
    "[run] load done: 3 objects, 300 rows, 100 rows/s, 1.0s",
    "[run] parse done: 2 objects, 200 rows, 100 rows/s, 1.5s",
    "[run] load done: 2 objects, 200 rows, 100 rows/s, 0.5s",
    "[run] find changed days done: 0 objects, 2 rows, 1 rows/s, 0.4s",
    "[run] 2 days to rebuild, 2017-07-01 .. 2017-07-02",
    "[run] transform done: 0 objects, 480 rows, 10 rows/s, 3.0s",
    "[run] find changed days done: 0 objects, 2 rows, 1 rows/s, 0.2s",
    "[run] aggregate done: 0 objects, 40 rows, 10 rows/s, 2.5s",
    "[run] render trend 2017-07-01_2017-12-31 done: 0 objects, 14 rows, 1 rows/s, 4.0s",
    "[run] deliver done: 0 objects, 23 rows, 212 rows/s, 0.1s",
    "[run] render overseas 2017-12-01_2017-12-31 done: 0 objects, 4 rows, 1 rows/s, 2.0s",
    "[run] deliver done: 0 objects, 6 rows, 208 rows/s, 0.2s",
]


def test_stage_seconds_sums_batches_and_reports_by_layer():
    stderr = [(1.0, "[session] starting")] + [(2.0 + i, line) for i, line in enumerate(RUN_LINES)]
    assert stage_seconds(stderr) == {
        "bronze": {"list": 1.5, "parse": 3.5, "load": 1.5},
        "silver": {"find changed days": 0.4, "transform": 3.0},
        "gold": {"find changed days": 0.2, "aggregate": 2.5},
        "reports": {"render trend": 4.0, "deliver": 0.3, "render overseas": 2.0},
        "silver_input_flows": 480, "startup_s": 2.0, "last_stage_end_s": 15.0,
    }


def test_stage_seconds_of_a_bronze_only_run_leaves_the_other_layers_empty():
    result = stage_seconds([(3.0, line) for line in RUN_LINES[:5]])
    assert result["bronze"] == {"list": 1.5, "parse": 3.5, "load": 1.5}
    assert result["silver"] == result["gold"] == result["reports"] == {}


def _commit(log, version, *actions):
    (log / f"{version:020d}.json").write_text("\n".join(json.dumps(a) for a in actions))


def test_delta_files_folds_adds_and_removes_after_the_last_checkpoint(tmp_path):
    log = tmp_path / "_delta_log"
    log.mkdir()
    # version 0 and 1 are in the checkpoint: their JSON must not be read again (a.parquet was
    # removed at 1, so reading 0 again would bring it back)
    _commit(log, 0, {"add": {"path": "day=2017-07-01/a.parquet"}}, {"add": {"path": "day=2017-07-01/b%20c.parquet"}})
    _commit(log, 1, {"remove": {"path": "day=2017-07-01/a.parquet"}}, {"add": {"path": "day=2017-07-02/d.parquet"}})
    adds = pa.array([None, {"path": "day=2017-07-01/b%20c.parquet"}, {"path": "day=2017-07-02/d.parquet"}],
                    pa.struct([("path", pa.string())]))
    pq.write_table(pa.table({"add": adds}), log / f"{1:020d}.checkpoint.parquet")
    (log / "_last_checkpoint").write_text(json.dumps({"version": 1, "size": 3}))
    _commit(log, 2, {"commitInfo": {"operation": "WRITE"}}, {"remove": {"path": "day=2017-07-02/d.parquet"}},
            {"add": {"path": "day=2017-07-02/e.parquet"}})
    assert delta_files(tmp_path) == [str(tmp_path / "day=2017-07-01/b c.parquet"),
                                     str(tmp_path / "day=2017-07-02/e.parquet")]


def test_delta_files_without_a_checkpoint_reads_every_commit(tmp_path):
    log = tmp_path / "_delta_log"
    log.mkdir()
    _commit(log, 0, {"add": {"path": "a.parquet"}})
    _commit(log, 1, {"add": {"path": "b.parquet"}}, {"remove": {"path": "a.parquet"}})
    assert delta_files(tmp_path) == [str(tmp_path / "b.parquet")]


def test_rss_by_kind_tells_the_driver_the_jvm_and_the_python_workers_apart():
    tree = [("flowlake", ["/v/bin/python", "/v/bin/flowlake", "run"], 300, True),
            ("bash", ["bash", "/v/pyspark/bin/spark-class"], 5, False),
            ("java", ["/usr/lib/jvm/bin/java", "-Xmx4g"], 4000, False),
            ("python", ["/v/bin/python", "-m", "pyspark.daemon"], 100, False),
            ("python", ["/v/bin/python", "-m", "pyspark.daemon"], 700, False)]
    assert rss_by_kind(tree) == {"driver": 300, "jvm": 4000, "python_workers": 800, "other": 5}


def test_a_zombie_in_the_tree_does_not_hide_the_living_processes_memory():
    """A child that exited and was not reaped yet has no command line: the sample must still
    count the processes that hold memory (before the fix, the whole sample failed on it)."""
    # The child's Popen is kept: one dropped would reap the child in its __del__ if it had exited.
    root = subprocess.Popen([sys.executable, "-c", "import subprocess, time; child = subprocess.Popen(['true']); "
                             "b = bytearray(64 << 20); print('ready', flush=True); time.sleep(60)"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert root.stdout.readline() == "ready\n"
        [child] = psutil.Process(root.pid).children()
        deadline = time.monotonic() + 10
        while child.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.status() == psutil.STATUS_ZOMBIE
        assert tree_rss(psutil.Process(root.pid))["driver"] > 64 << 20
    finally:
        root.kill()
        root.wait()
