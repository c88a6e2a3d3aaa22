"""Fixtures shared by the integration tests."""

from datetime import date, datetime, timezone

import pytest

from flowlake.config import load_config
from flowlake.generate.dumps import generate
from flowlake.progress import Progress
from tests.conftest import write_config


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """Two generated days in a raw folder; tests copy it so each starts from the same dumps."""
    folder = tmp_path_factory.mktemp("generated")
    config = load_config(write_config(folder))
    truth = generate(config, date(2017, 7, 1), date(2017, 7, 2), 1500, 11, Progress("test"))
    return folder / "raw", truth


@pytest.fixture(scope="session")
def gold_lake(spark, tmp_path_factory):
    """Four generated months (July to October 2017) through bronze, silver and gold; shared by
    the gold and report tests, which only read it or rewrite the same rows."""
    from flowlake.bronze.ingest import run_bronze
    from flowlake.gold.build import run_gold
    from flowlake.silver.build import run_silver

    folder = tmp_path_factory.mktemp("gold")
    config = load_config(write_config(folder))
    truth = generate(config, date(2017, 7, 1), date(2017, 10, 31), 300, 5, Progress("test"))
    run_time = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for run in (run_bronze, run_silver, run_gold):
        run(spark, config, run_time, Progress("test"))
    return config, truth


REPORTS_RUN_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def reports(spark, gold_lake, tmp_path_factory):
    """The three reports rendered from `gold_lake` to a reports folder, not mailed yet: config
    (with recipients and the local SMTP server) and each report's run result."""
    from dataclasses import replace

    from flowlake.config import ReportSettings
    from flowlake.reports.job import run_report

    settings = ReportSettings(recipients=("analyst@flowlake.test",), allowed_recipients=("@flowlake.test",),
                              local_timezone="Asia/Pyongyang", retry_seconds=0.05)
    config = replace(gold_lake[0], reports_uri=f"file://{tmp_path_factory.mktemp('reports')}", reports=settings)
    as_of = {"trend": date(2017, 10, 31), "overseas": date(2017, 9, 30), "crypto": date(2017, 10, 31)}
    results = {name: run_report(spark, config, name, day, REPORTS_RUN_TIME, False, False, Progress("test"))
               for name, day in as_of.items()}
    return config, results
