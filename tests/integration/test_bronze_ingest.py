"""Bronze ingest over real Delta tables: exactly once, nothing lost, crash-safe, through s3a://."""

from __future__ import annotations

import gzip
import json
import random
import re
import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from flowlake.bronze import ingest
from flowlake.bronze.ingest import ARROW_BATCH_ROWS, QuarantineRateExceeded, run_bronze
from flowlake.config import load_config
from flowlake.generate.dumps import generate
from flowlake.progress import Progress
from flowlake.readers.delimited import NFDUMP_V1
from tests.conftest import write_config

pytestmark = pytest.mark.integration
RUN_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)


def bronze(spark, config):
    return run_bronze(spark, config, RUN_TIME, Progress("test"))


def rows(spark, config, table, order=("source_object", "line_number")):
    return [r.asDict() for r in spark.read.format("delta").load(config.table_uri("bronze", table))
            .orderBy(*order).collect()]


def version(spark, config, table):
    from delta.tables import DeltaTable
    return DeltaTable.forPath(spark, config.table_uri("bronze", table)).history(1).collect()[0].version


def comparable(spark, config, table, order=("source_object", "line_number")):
    """A table's rows with the lake's raw folder spelled <raw>, to compare two lakes."""
    raw = str(Path(config.raw_uri[len("file://"):]))
    return [{k: v.replace(raw, "<raw>") if isinstance(v, str) else v for k, v in r.items()}
            for r in rows(spark, config, table, order)]


def fresh_lake(tmp_path, generated, **extra):
    raw, truth = generated
    shutil.copytree(raw, tmp_path / "raw")
    return load_config(write_config(tmp_path, **extra)), truth


def test_generated_dumps_land_in_bronze_once(spark, tmp_path, generated):
    config, truth = fresh_lake(tmp_path, generated)
    spark.conf.unset(ARROW_BATCH_ROWS)
    result = bronze(spark, config)
    assert (result.objects_new, result.duplicates, result.unreadable, result.quarantined_rows) == (6, 0, 0, 0)
    # The parse's Arrow batches of a few objects do not outlive it (later collects would crawl).
    assert spark.conf.get(ARROW_BATCH_ROWS, None) is None
    flows = spark.read.format("delta").load(config.table_uri("bronze", "flows"))
    assert flows.count() == truth["records"] == result.flow_rows
    # Generated instants fall inside their UTC day: a wrong exporter timezone would move them.
    by_day = {r.day.isoformat(): r["count"] for r in flows.groupBy("day").count().collect()}
    assert by_day == truth["records_by_day"]
    assert flows.where("line_number IS NULL OR source_object IS NULL").count() == 0
    assert rows(spark, config, "quarantine") == []
    manifest = rows(spark, config, "ingested_files", order=("source_object",))
    assert [Path(m["source_object"]).name for m in manifest] == [
        "2017-07-01.json.gz", "2017-07-02.json.gz"] * 2 + ["2017-07-01.csv.gz", "2017-07-02.csv.gz"]
    assert sum(m["flow_rows"] for m in manifest) == truth["records"]

    before = {t: version(spark, config, t) for t in ("flows", "dns", "ingested_files")}
    again = bronze(spark, config)
    assert (again.objects_new, again.flow_rows) == (0, 0)
    assert {t: version(spark, config, t) for t in before} == before


def test_duplicate_delivery_under_another_key_adds_nothing(spark, tmp_path, generated):
    config, truth = fresh_lake(tmp_path, generated)
    bronze(spark, config)
    original = tmp_path / "raw" / "flows" / "pyongyang" / "2017-07-01.csv.gz"
    copy = tmp_path / "raw" / "flows" / "redelivered" / "copy-of-2017-07-01.csv.gz"
    copy.parent.mkdir()
    shutil.copy(original, copy)
    result = bronze(spark, config)
    assert (result.objects_new, result.duplicates, result.flow_rows) == (1, 1, 0)
    assert spark.read.format("delta").load(config.table_uri("bronze", "flows")).count() == truth["records"]
    entry = [m for m in rows(spark, config, "ingested_files", order=("source_object",))
             if m["source_object"].endswith("copy-of-2017-07-01.csv.gz")]
    assert entry[0]["duplicate_of"].endswith("pyongyang/2017-07-01.csv.gz")


def test_truncated_gzip_and_garbage_go_to_quarantine_while_good_files_land(spark, tmp_path, generated):
    config, truth = fresh_lake(tmp_path, generated, bronze={"max_quarantine_rate": 1.0})
    rng = random.Random(5)
    garbage = [",".join(str(rng.randint(-9, 10**20)) for _ in range(rng.randint(1, 60))) for _ in range(500)]
    garbage += ["".join(chr(rng.randint(33, 0x2FF)) for _ in range(rng.randint(1, 200))) for _ in range(500)]
    bad_dir = tmp_path / "raw" / "flows" / "bad"
    bad_dir.mkdir()
    (bad_dir / "garbage.csv.gz").write_bytes(gzip.compress("\n".join([",".join(NFDUMP_V1.header)] + garbage).encode()))
    (bad_dir / "truncated.csv.gz").write_bytes(
        gzip.compress((tmp_path / "raw" / "flows" / "pyongyang" / "2017-07-01.csv.gz").read_bytes())[:-40])

    result = bronze(spark, config)
    assert result.unreadable == 1
    assert result.flow_rows == truth["records"]
    quarantine = rows(spark, config, "quarantine")
    garbage_rows = [q for q in quarantine if q["source_object"].endswith("garbage.csv.gz")]
    assert len(garbage_rows) == 1000
    assert sorted(q["line_number"] for q in garbage_rows) == list(range(2, 1002))
    assert all(q["reason"] and q["raw_line"] for q in garbage_rows)
    truncated = [q for q in quarantine if q["source_object"].endswith("truncated.csv.gz")]
    assert len(truncated) == 1 and truncated[0]["line_number"] is None
    assert truncated[0]["reason"].startswith("unreadable object: truncated gzip")


def test_quarantine_rate_above_limit_fails_the_run_and_publishes_no_flows(spark, tmp_path, generated):
    config, truth = fresh_lake(tmp_path, generated, bronze={"max_quarantine_rate": 0.01})
    bad = tmp_path / "raw" / "flows" / "bad.csv"
    bad.write_text("\n".join([",".join(NFDUMP_V1.header)] + ["1,2,3"] * 500))
    with pytest.raises(QuarantineRateExceeded) as stopped:
        bronze(spark, config)
    # The message names the rate, the limit and its config key, the top reasons and objects.
    message = str(stopped.value)
    lines = int(re.match(r"500 of ([0-9,]+) lines", message).group(1).replace(",", ""))
    assert lines > 500 + truth["records"]  # the good files' flows and DNS records count too
    assert message.startswith(f"500 of {lines:,} lines ({500 / lines:.1%}) went to quarantine, above the limit "
                              f"bronze.max_quarantine_rate = 1.0% (config {config.path}). Nothing was published "
                              f"but the quarantine rows, in {config.table_uri('bronze', 'quarantine')}.")
    assert "\nTop reasons: 500 x expected 48 comma-separated columns as in the header.\n" in message
    assert "\nTop objects: 500 in flows/bad.csv.\n" in message
    for table in ("flows", "dns", "ingested_files"):
        assert not (tmp_path / "warehouse" / "bronze" / table).exists()
    assert len(rows(spark, config, "quarantine")) == 500


def test_crash_between_data_and_manifest_commits_reruns_to_the_same_tables(spark, tmp_path, generated, monkeypatch):
    reference_dir, crashed_dir = tmp_path / "reference", tmp_path / "crashed"
    reference_dir.mkdir(), crashed_dir.mkdir()
    reference, _ = fresh_lake(reference_dir, generated)
    crashed, _ = fresh_lake(crashed_dir, generated)
    bronze(spark, reference)

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash after the data commits")
    monkeypatch.setattr(ingest, "merge_by_key", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        bronze(spark, crashed)
    monkeypatch.undo()
    bronze(spark, crashed)
    for table in ("flows", "dns", "quarantine"):
        assert comparable(spark, crashed, table) == comparable(spark, reference, table)


def test_a_backlog_in_batches_lands_as_in_one_batch(spark, tmp_path, generated):
    one_dir, batched_dir = tmp_path / "one", tmp_path / "batched"
    one_dir.mkdir(), batched_dir.mkdir()
    one, _ = fresh_lake(one_dir, generated)
    batched, truth = fresh_lake(batched_dir, generated, bronze={"batch_mib": 1e-6})  # one object per batch
    for lake in one_dir, batched_dir:  # a redelivery whose original is in an earlier batch
        copy = lake / "raw" / "flows" / "redelivered" / "copy-of-2017-07-01.csv.gz"
        copy.parent.mkdir()
        shutil.copy2(lake / "raw" / "flows" / "pyongyang" / "2017-07-01.csv.gz", copy)

    assert bronze(spark, batched) == bronze(spark, one)
    assert version(spark, batched, "ingested_files") == 7 and version(spark, one, "ingested_files") == 1
    for table in ("flows", "dns", "quarantine"):
        assert comparable(spark, batched, table) == comparable(spark, one, table)
    assert (comparable(spark, batched, "ingested_files", order=("source_object",))
            == comparable(spark, one, "ingested_files", order=("source_object",)))
    assert spark.read.format("delta").load(batched.table_uri("bronze", "flows")).count() == truth["records"]


def test_a_batch_over_the_quarantine_limit_stops_the_run_after_the_earlier_batches(spark, tmp_path, generated):
    config, truth = fresh_lake(tmp_path, generated, bronze={"batch_mib": 1e-6, "max_quarantine_rate": 0.01})
    bad = tmp_path / "raw" / "flows" / "zz" / "bad.csv"  # last in key order: the seventh batch
    bad.parent.mkdir()
    bad.write_text("\n".join([",".join(NFDUMP_V1.header)] + ["1,2,3"] * 500))
    with pytest.raises(QuarantineRateExceeded) as stopped:
        bronze(spark, config)
    assert str(stopped.value).startswith("500 of 500 lines (100.0%) went to quarantine")
    assert "The run's 6 objects before them, in earlier batches of at most 1e-06 MiB (bronze.batch_mib)" in str(
        stopped.value)
    assert len(rows(spark, config, "ingested_files", order=("source_object",))) == 6
    assert spark.read.format("delta").load(config.table_uri("bronze", "flows")).count() == truth["records"]
    assert len(rows(spark, config, "quarantine")) == 500


def test_ingest_reads_dumps_from_the_local_s3_server_through_s3a(spark, tmp_path, s3_endpoint):
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint)
    bucket = f"flowlake-test-{tmp_path.name.lower().replace('_', '-')}"[:60]
    client.create_bucket(Bucket=bucket)
    config = load_config(write_config(tmp_path, raw_uri=f"s3a://{bucket}/raw"))
    truth = generate(config, date(2017, 7, 1), date(2017, 7, 1), 800, 3, Progress("test"))
    listed = client.list_objects_v2(Bucket=bucket, Prefix="raw/")["Contents"]
    assert len(listed) == 3

    result = bronze(spark, config)
    assert (result.objects_new, result.flow_rows, result.quarantined_rows) == (3, truth["records"], 0)
    sources = {r.source_object for r in spark.read.format("delta").load(config.table_uri("bronze", "flows"))
               .select("source_object").distinct().collect()}
    assert sources == {f"s3a://{bucket}/raw/flows/pyongyang/2017-07-01.csv.gz",
                       f"s3a://{bucket}/raw/flows/goflow2/2017-07-01.json.gz"}
    truth_object = client.get_object(Bucket=bucket, Key="ground_truth/2017-07-01_2017-07-01_seed3.json")
    assert json.loads(truth_object["Body"].read())["records"] == truth["records"]
    assert bronze(spark, config).objects_new == 0
