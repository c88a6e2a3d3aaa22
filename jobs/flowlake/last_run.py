"""Whether `flowlake run` has anything to do, told before any JVM starts.

A run that finds nothing new still paid for a JVM, a Spark session, the listing of the raw
objects against bronze's manifest and a Delta log read per table: about 30 s on two cores
(BENCHMARKS.md), for a daily job that usually finds nothing between its dumps. So a
successful `flowlake run` records, in `<warehouse_uri>/_flowlake/last_run.json`, a digest of
everything its result depends on outside the code:

- every raw object's key, size and modification time (plain listing: boto3 or the disk);
- the latest Delta log version of every table (any commit since, by any writer, differs);
- the config file's text, the stages run, and flowlake's version.

The next `flowlake run` computes the same digest first; when it is equal, every stage would
find nothing to do, and the run says so and stops without Spark. The raw listing is taken
before the run (an object landing during the run makes the next run's digest differ) and the
tables' versions after it. A run of other stages, a failed run, or a new release of flowlake
never matches. The one miss: another writer committing in the moment between this run's last
commit and its reading of the versions, and then failing before its own later stages, leaves
those stages to the next run that finds a new object.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib.metadata import version
from pathlib import Path

from flowlake.config import Config
from flowlake.stages import TABLES
from flowlake.storage import object_listing, read_object, write_object

COMMIT_FILE = re.compile(r"/_delta_log/(\d{20})\.json$")


def record_uri(config: Config) -> str:
    return f"{config.warehouse_uri}/_flowlake/last_run.json"


def raw_listing(config: Config) -> list[list]:
    """[uri, size, modified] of every raw object: what bronze compares with its manifest."""
    return [list(entry) for entry in object_listing(config.raw_uri, config.s3)]


def table_versions(config: Config) -> dict[str, int | None]:
    """Each table's latest committed version, from its `_delta_log` listing (None: no table yet)."""
    versions = {}
    for table in TABLES:
        commits = [int(m.group(1)) for uri, _, _ in object_listing(f"{config.table_uri(*table)}/_delta_log", config.s3)
                   if (m := COMMIT_FILE.search(uri))]
        versions[f"{table.layer}.{table.name}"] = max(commits, default=None)
    return versions


def run_digest(config: Config, stages: list[str], raw: list[list], tables: dict[str, int | None]) -> str:
    state = {"raw": raw, "tables": tables, "stages": stages, "flowlake": version("flowlake"),
             "config": Path(config.path).read_text(encoding="utf-8")}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode("utf-8")).hexdigest()


def last_run(config: Config) -> dict | None:
    """The record the last successful `flowlake run` left, or None (none yet, or unreadable)."""
    text = read_object(record_uri(config), config.s3)
    try:
        return json.loads(text) if text is not None else None
    except ValueError:
        return None  # rewritten by the next run


def record_run(config: Config, digest: str, finished_at: str) -> None:
    write_object(record_uri(config), json.dumps({"digest": digest, "finished_at": finished_at}).encode("utf-8"),
                 config.s3)
