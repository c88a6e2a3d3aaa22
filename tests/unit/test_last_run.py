"""`flowlake run` stops before Spark when nothing changed since its last successful run
(flowlake.last_run), and runs whenever a raw object, a table, the config or the stages did.
The stages themselves are replaced by a recorder: what is tested is the decision."""

from __future__ import annotations

import io

import pytest

import flowlake.runner as runner
from flowlake.progress import Progress
from tests.conftest import write_config


@pytest.fixture
def lake(tmp_path, monkeypatch):
    """A config with one raw object, and the stage runs `flowlake run` would have started."""
    (tmp_path / "raw" / "flows").mkdir(parents=True)
    (tmp_path / "raw" / "flows" / "2017-07-01.csv.gz").write_bytes(b"dump")
    config = write_config(tmp_path)
    started = []
    monkeypatch.setattr(runner, "run_stages", lambda config, names, app_name: started.append(names))
    return tmp_path, config, started


def run(config, *args):
    return runner.run_pipeline(["--config", str(config), *args])


def test_a_second_run_with_nothing_new_starts_no_stage(lake, monkeypatch):
    folder, config, started = lake
    said = io.StringIO()
    monkeypatch.setattr(runner, "Progress", lambda command: Progress(command, stream=said))

    assert run(config) == 0 and run(config) == 0

    assert started == [["bronze", "silver", "gold", "reports"]]
    assert said.getvalue().startswith("[run] nothing new since the run that finished at")
    assert (folder / "warehouse" / "_flowlake" / "last_run.json").is_file()


@pytest.mark.parametrize("change", ["new object", "changed object", "commit", "config", "stages", "always"])
def test_any_change_since_the_last_run_runs_the_stages(lake, change):
    folder, config, started = lake
    run(config)
    args = []
    if change == "new object":
        (folder / "raw" / "flows" / "2017-07-02.csv.gz").write_bytes(b"dump")
    elif change == "changed object":
        (folder / "raw" / "flows" / "2017-07-01.csv.gz").write_bytes(b"dump, delivered again")
    elif change == "commit":  # another writer committed to a table
        log = folder / "warehouse" / "silver" / "flows" / "_delta_log"
        log.mkdir(parents=True)
        (log / "00000000000000000000.json").write_text("{}")
    elif change == "config":
        config.write_text(config.read_text() + "\n# edited\n")
    elif change == "stages":
        args = ["--stages", "bronze"]
    else:
        args = ["--always"]

    run(config, *args)

    assert len(started) == 2


def test_a_failed_run_records_nothing(lake, monkeypatch):
    folder, config, started = lake

    def failing(config, names, app_name):
        raise RuntimeError("stage failed")
    monkeypatch.setattr(runner, "run_stages", failing)
    with pytest.raises(RuntimeError):
        run(config)

    assert not (folder / "warehouse" / "_flowlake" / "last_run.json").exists()
