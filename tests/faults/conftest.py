"""The fault suite's one undisturbed reference: three small generated days through every layer.

Every trial builds its own warehouse from the same dumps (or a copy of them) and must end with
exactly the reference's rows.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from flowlake.config import Config, load_config
from flowlake.generate.dumps import generate
from flowlake.progress import Progress
from tests.conftest import write_config
from tests.faults.harness import lake_rows

RUN_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)
FIRST_DAY, LAST_DAY = date(2017, 7, 1), date(2017, 7, 3)
FLOWS_PER_DAY = 200


@dataclass(frozen=True)
class FaultLake:
    raw: Path
    config: Config
    truth: dict
    rows: dict


def lake_config(folder: Path, raw: Path | str | None = None, reports: dict | None = None, **extra) -> Config:
    """A config with its warehouse and reports under `folder`, reading `raw` (default folder/raw);
    a small driver, since several JVMs share two cores, and mail to the local SMTP server
    (`reports` settings over those of the suite)."""
    raw_uri = raw if isinstance(raw, str) else f"file://{raw or folder / 'raw'}"
    reports = {"recipients": [f"{folder.name.lower()}@flowlake.test"], "allowed_recipients": ["@flowlake.test"],
               "retry_seconds": 0.05, **(reports or {})}
    return load_config(write_config(folder, raw_uri=raw_uri, spark={"driver_memory": "1g", "shuffle_partitions": 2},
                                    reports=reports, **extra))


def build_lake(spark, config: Config, stages=("bronze", "silver", "gold"), stream=None) -> None:
    """Bronze, silver and gold in the test's own Spark session: what `flowlake run` does, without a JVM start;
    their progress lines to `stream` (stderr if None)."""
    from flowlake.bronze.ingest import run_bronze
    from flowlake.gold.build import run_gold
    from flowlake.silver.build import run_silver

    for stage, run in (("bronze", run_bronze), ("silver", run_silver), ("gold", run_gold)):
        if stage in stages:
            run(spark, config, RUN_TIME, Progress(f"test-{stage}", **({"stream": stream} if stream else {})))


@pytest.fixture(scope="session")
def fault_lake(spark, tmp_path_factory) -> FaultLake:
    """The reference lake; FLOWLAKE_FAULT_REFERENCE=<folder> reuses one an earlier session of
    the same code built (its `fault-reference0` folder, where it was built: a copy elsewhere has
    its dumps at another path than its manifest recorded, so a re-run ingests them again as
    duplicate deliveries), to run a single scenario quickly."""
    reused = os.environ.get("FLOWLAKE_FAULT_REFERENCE")
    folder = Path(reused) if reused else tmp_path_factory.mktemp("fault-reference")
    config = lake_config(folder)
    if reused:
        truth = json.loads(next((folder / "ground_truth").glob("*.json")).read_text())
    else:
        truth = generate(config, FIRST_DAY, LAST_DAY, FLOWS_PER_DAY, 17, Progress("test"))
        build_lake(spark, config)
    return FaultLake(folder / "raw", config, truth, lake_rows(spark, config))
