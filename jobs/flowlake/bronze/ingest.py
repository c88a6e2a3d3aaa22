"""Bronze ingest: every raw object not yet in bronze.ingested_files becomes typed Delta rows.

Run it with `flowlake run --config C --stages bronze`, or as a Spark application:
`spark-submit $(flowlake submit-args --config C) jobs/run_stage.py --stage bronze --config C`.

Extract lists raw_uri and keeps the objects whose (key, size, modification time) the manifest
has not seen, and splits them in key order into batches of at most bronze.batch_mib of raw
bytes; each batch goes through transform, validate and load on its own, so the driver holds
one batch's parsed rows however large the backlog. Transform reads them through Spark
(file:// or s3a://) and parses each one in a Python worker with pyarrow (`flowlake.readers`).
Validate runs the bronze.flows and bronze.dns suites. Load writes bronze.flows, bronze.dns and
bronze.quarantine, each in one Delta commit per batch that replaces whatever rows those objects
had (`replaceWhere source_object IN ...`), and only then merges the objects into the manifest.
A crash anywhere re-runs to the same tables: the objects are still pending, and their rows are
replaced, never appended twice. An object whose bytes equal an already ingested one (the same
dump delivered under another key) is recorded in the manifest as a duplicate and adds no rows.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from flowlake.config import Config, Source, source_for
from flowlake.errors import PipelineStopped
from flowlake.progress import Progress
from flowlake.quality import check_table, import_in_background
from flowlake.readers.nfcapd import NfdumpMissing
from flowlake.readers.objects import DEFAULT_MAX_DECOMPRESSED_BYTES, parse_object
from flowlake.readers.records import (
    DNS_SCHEMA, FLOW_SCHEMA, QUARANTINE_SCHEMA, ParsedObject, UnreadableObject, quarantine_rows,
)
from flowlake.stages import BRONZE_TABLES
from flowlake.tables import (
    batches_by_size, merge_by_key, read_or_empty, replace_rows_of_objects, side_by_side, table_line,
)

OBJECT_SCHEMA = pa.schema([
    ("size", pa.int64()), ("modification_time", pa.timestamp("us", tz="UTC")), ("sha256", pa.string()),
    ("format", pa.string()), ("flow_rows", pa.int64()), ("dns_rows", pa.int64()),
    ("quarantined_rows", pa.int64()), ("control_lines", pa.int64()), ("unreadable_reason", pa.string()),
])

# One wide schema for everything the parser emits, told apart by `kind`, so one pass over
# the raw bytes feeds all four bronze tables.
_UNION_FIELDS = {"kind": pa.string(), "source_object": pa.string()}
for _schema in (FLOW_SCHEMA, DNS_SCHEMA, QUARANTINE_SCHEMA, OBJECT_SCHEMA):
    for _field in _schema:
        _UNION_FIELDS.setdefault(_field.name, _field.type)
UNION_SCHEMA = pa.schema(list(_UNION_FIELDS.items()))


def _with_source_object(schema: pa.Schema) -> list[str]:
    names = [n for n in schema.names if n != "line_number"]
    return names + ["source_object", "line_number"]


FLOW_COLUMNS = _with_source_object(FLOW_SCHEMA)
DNS_COLUMNS = _with_source_object(DNS_SCHEMA)
QUARANTINE_COLUMNS = ["source_object", "line_number", "raw_line", "reason"]
MANIFEST_SCHEMA = (from_arrow_schema(pa.schema([("source_object", pa.string())] + list(zip(OBJECT_SCHEMA.names, OBJECT_SCHEMA.types))))
                   .add("duplicate_of", "string").add("ingested_at", "timestamp"))


ARROW_BATCH_ROWS = "spark.sql.execution.arrow.maxRecordsPerBatch"

# The start of an object's unreadable_reason when the fault is the node's, not the object's.
NODE_CANNOT_PARSE = "node cannot parse: "


class NodeCannotParse(PipelineStopped):
    """A Spark node lacks a tool an object needs (nfdump for nfcapd files); nothing was written."""


class QuarantineRateExceeded(PipelineStopped):
    """Too large a share of a run's lines could not be parsed; nothing but quarantine was written."""


@dataclass(frozen=True)
class BronzeResult:
    objects_seen: int
    objects_new: int
    duplicates: int
    unreadable: int
    flow_rows: int
    dns_rows: int
    quarantined_rows: int


def relative_key(path: str, raw_uri: str) -> str:
    """An object's key below raw_uri (`flows/pyongyang/2017-07-01.csv.gz`).

    Spark writes local paths as `file:/x` and config as `file:///x`: both lose the scheme.
    """
    def bare(uri: str) -> str:
        return re.sub(r"^[a-z0-9]+:/*", "", uri)
    return bare(path)[len(bare(raw_uri)):].lstrip("/")


def _with_union_columns(table: pa.Table, kind: str, source_object: str) -> pa.RecordBatch:
    n = table.num_rows
    columns = []
    for field in UNION_SCHEMA:
        if field.name == "kind":
            columns.append(pa.array([kind] * n, pa.string()))
        elif field.name == "source_object":
            columns.append(pa.array([source_object] * n, pa.string()))
        elif field.name in table.column_names:
            columns.append(table.column(field.name).combine_chunks())
        else:
            columns.append(pa.nulls(n, field.type))
    return pa.RecordBatch.from_arrays(columns, schema=UNION_SCHEMA)


def parse_content(path: str, content: bytes, raw_uri: str, sources: tuple[Source, ...],
                  max_days_from_dump: int, nfdump: str = "nfdump",
                  max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES) -> tuple[ParsedObject, str | None]:
    """One object's bronze rows and, if it cannot be read at all, why (then it is one quarantine row).
    An nfcapd file on a node that cannot run nfdump is neither: its reason starts with
    NODE_CANNOT_PARSE, and the driver stops the run on it (the file itself is fine)."""
    key = relative_key(path, raw_uri)
    source = source_for(sources, key)
    exporter = posixpath.dirname(key) or "."
    try:
        return parse_object(key, content, source, exporter, max_days_from_dump, nfdump, max_decompressed_bytes), None
    except NfdumpMissing as err:
        reason = f"{NODE_CANNOT_PARSE}{err}"
    except UnreadableObject as err:
        reason = f"unreadable object: {err}"
    except Exception as err:  # a parser bug must not lose the object: quarantine it whole, loudly
        reason = f"parser error {type(err).__name__}: {err}"
    whole = quarantine_rows(pa.nulls(1, pa.int64()), pa.nulls(1, pa.string()), reason)
    return ParsedObject(format=source.format if source.format != "auto" else "unknown", quarantine=whole), reason


def _parse_batches(batches, raw_uri: str, sources: tuple[Source, ...], max_days_from_dump: int, nfdump: str,
                   max_decompressed_bytes: int):
    for batch in batches:
        for row in batch.to_pylist():
            path, content = row["path"], row["content"]
            parsed, unreadable = parse_content(path, content, raw_uri, sources, max_days_from_dump, nfdump,
                                               max_decompressed_bytes)
            for kind, table in (("flow", parsed.flows), ("dns", parsed.dns), ("quarantine", parsed.quarantine)):
                for chunk in table.to_batches(max_chunksize=65536):
                    yield _with_union_columns(pa.Table.from_batches([chunk]), kind, path)
            summary = pa.table({
                "size": [row["length"]], "modification_time": [row["modificationTime"]],
                "sha256": [hashlib.sha256(content).hexdigest()], "format": [parsed.format],
                "flow_rows": [parsed.flows.num_rows], "dns_rows": [parsed.dns.num_rows],
                "quarantined_rows": [parsed.quarantine.num_rows], "control_lines": [parsed.control_lines],
                "unreadable_reason": [unreadable],
            }, schema=OBJECT_SCHEMA)
            yield _with_union_columns(summary, "object", path)


def parsed_rows(contents: DataFrame, raw_uri: str, sources: tuple[Source, ...], max_days_from_dump: int,
                nfdump: str = "nfdump", max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES) -> DataFrame:
    """Parse binaryFile rows (path, modificationTime, length, content) into the union schema."""
    return contents.mapInArrow(lambda batches: _parse_batches(batches, raw_uri, sources, max_days_from_dump, nfdump,
                                                              max_decompressed_bytes),
                               from_arrow_schema(UNION_SCHEMA))


def duplicate_of(new_objects: list[dict], ingested: dict[str, str]) -> dict[str, str]:
    """For each new object whose bytes were already ingested, the object it repeats.

    `ingested` maps sha256 -> source_object of objects already in bronze. Among new objects
    with equal bytes, the first by key is ingested and the others are its duplicates.
    """
    seen = dict(ingested)
    duplicates = {}
    for obj in sorted(new_objects, key=lambda o: o["source_object"]):
        original = seen.get(obj["sha256"])
        if original is not None and original != obj["source_object"]:
            duplicates[obj["source_object"]] = original
        else:
            seen[obj["sha256"]] = obj["source_object"]
    return duplicates


# nfcapd and sfcapd write the current interval to nfcapd.current.<pid> and rename it to
# nfcapd.<YYYYMMDDhhmm> when the interval ends: ingesting it would add its flows a second time,
# under the final name, with other bytes than any ingested object (so not a duplicate delivery).
COLLECTOR_FILES_IN_PROGRESS = r"(^|/)nfcapd\.current\.[0-9]+$"


def list_raw_objects(spark: SparkSession, raw_uri: str) -> DataFrame:
    """Every object below raw_uri but the files a collector is still writing."""
    return (spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(raw_uri)
            .where(~F.col("path").rlike(COLLECTOR_FILES_IN_PROGRESS))
            .select(F.col("path").alias("source_object"), F.col("length").alias("size"),
                    F.col("modificationTime").alias("modification_time")))


def pending_objects(listed: list[tuple[str, int, datetime]], recorded: list) -> list[tuple[str, int]]:
    """(key, size) of the listed objects whose key, size and modification time the manifest
    (`recorded` rows) has not seen."""
    seen = {(r.source_object, r.size, r.modification_time) for r in recorded}
    return [(key, size) for key, size, modified in listed if (key, size, modified) not in seen]


def tally(objects_seen: int, objects: list[dict], duplicates: dict[str, str]) -> BronzeResult:
    """What ingesting `objects` (the parser's per-object summaries) added to bronze."""
    kept = [o for o in objects if o["source_object"] not in duplicates]
    return BronzeResult(
        objects_seen=objects_seen, objects_new=len(objects), duplicates=len(duplicates),
        unreadable=sum(1 for o in kept if o["unreadable_reason"]),
        flow_rows=sum(o["flow_rows"] for o in kept), dns_rows=sum(o["dns_rows"] for o in kept),
        quarantined_rows=sum(o["quarantined_rows"] for o in kept))


def run_bronze(spark: SparkSession, config: Config, run_time: datetime, progress: Progress) -> BronzeResult:
    """Ingest every pending object, in batches of at most bronze.batch_mib of raw bytes.

    Each batch is parsed, gated and committed on its own, so the driver holds one batch's
    parsed rows at a time however large the backlog (a first run over months of dumps).
    """
    paths = {table.name: config.table_uri(*table) for table in BRONZE_TABLES}

    with progress.stage("list") as stage:
        # Both sides are collected once and compared here: the listing is collected anyway,
        # and the manifest's rows (one per object ever ingested) also give the checksums
        # duplicates are found by, so neither a join nor a second read of the manifest is needed.
        listed = [tuple(r) for r in list_raw_objects(spark, config.raw_uri).collect()]
        recorded = (read_or_empty(spark, paths["ingested_files"], MANIFEST_SCHEMA)
                    .select("source_object", "size", "modification_time", "sha256", "duplicate_of").collect())
        pending = pending_objects(listed, recorded)
        stage.done(objects=len(listed))
    batches = batches_by_size(pending, int(config.bronze.batch_mib * 2**20))
    in_batches = f", in {len(batches)} batches of at most {config.bronze.batch_mib:g} MiB" if len(batches) > 1 else ""
    progress.say(f"{len(listed)} objects under {config.raw_uri}, {len(pending)} new or changed{in_batches}")
    if pending:
        import_in_background()  # for the gates, while the objects are parsed

    pending_keys = {key for key, _ in pending}
    ingested = {r.sha256: r.source_object for r in recorded
                if r.duplicate_of is None and r.source_object not in pending_keys}
    objects, duplicates = [], {}
    for number, batch in enumerate(batches, 1):
        if len(batches) > 1:
            progress.say(f"batch {number} of {len(batches)}: {len(batch)} objects")
        batch_objects, batch_duplicates = ingest_batch(spark, config, run_time, progress, paths, batch, ingested,
                                                       published_before=len(objects))
        objects += batch_objects
        duplicates.update(batch_duplicates)
        for o in batch_objects:
            if o["source_object"] not in batch_duplicates:
                ingested.setdefault(o["sha256"], o["source_object"])
    return tally(len(listed), objects, duplicates)


@contextmanager
def arrow_batches_of(spark: SparkSession, rows: int):
    """Spark's Arrow batches hold `rows` rows while in effect. Parsing, the rows are binaryFile's,
    one per object, so a Python worker holds a few objects at a time however many its task
    parses. Restored after: left at a few rows, it made every later collect through Arrow (the
    gates in the driver, the reports) six times slower (BENCHMARKS.md, "2026-12-01 10:28 to
    11:16")."""
    previous = spark.conf.get(ARROW_BATCH_ROWS, None)
    spark.conf.set(ARROW_BATCH_ROWS, str(rows))
    try:
        yield
    finally:
        if previous is None:
            spark.conf.unset(ARROW_BATCH_ROWS)
        else:
            spark.conf.set(ARROW_BATCH_ROWS, previous)


def ingest_batch(spark: SparkSession, config: Config, run_time: datetime, progress: Progress,
                 paths: dict[str, str], batch: list[str], ingested: dict[str, str],
                 published_before: int) -> tuple[list[dict], dict[str, str]]:
    """Parse, gate and load one batch of objects; return their summaries and which of them
    repeat an object already ingested (`ingested`: sha256 -> source_object)."""
    with progress.stage("parse") as stage, arrow_batches_of(spark, config.bronze.parse_batch_objects):
        contents = spark.read.format("binaryFile").load(batch)
        # One task per core: a Python task costs about 0.4 s whatever it parses, so a
        # task per few objects (69 for six months of small dumps) tripled the parse's time.
        tasks = min(len(batch), spark.sparkContext.defaultParallelism)
        union = parsed_rows(contents.repartition(tasks), config.raw_uri, config.sources,
                            config.bronze.max_days_from_dump, config.bronze.nfdump,
                            int(config.bronze.max_decompressed_mib * 2**20))
        union = union.persist(StorageLevel.MEMORY_AND_DISK)
        objects = [r.asDict() for r in union.where("kind = 'object'")
                   .select("source_object", *OBJECT_SCHEMA.names).collect()]
        stage.done(objects=len(objects),
                   rows=sum(o["flow_rows"] + o["dns_rows"] + o["quarantined_rows"] for o in objects))

    duplicates = duplicate_of(objects, ingested)
    kept = [o for o in objects if o["source_object"] not in duplicates]
    kept_rows = union.where(F.col("source_object").isin([o["source_object"] for o in kept]))
    flows = kept_rows.where("kind = 'flow'").select(*FLOW_COLUMNS)
    dns = kept_rows.where("kind = 'dns'").select(*DNS_COLUMNS)
    quarantine = (kept_rows.where("kind = 'quarantine'").select(*QUARANTINE_COLUMNS)
                  .withColumn("ingested_at", F.lit(run_time)))
    result = tally(len(objects), objects, duplicates)

    try:
        stop_if_a_node_cannot_parse(objects, config.raw_uri)
        lines = result.flow_rows + result.dns_rows + result.quarantined_rows
        if lines and result.quarantined_rows / lines > config.bronze.max_quarantine_rate:
            replace_rows_of_objects(quarantine, paths["quarantine"], batch)
            raise QuarantineRateExceeded(quarantine_rate_message(
                result, lines, config, paths["quarantine"], top_reasons(quarantine), kept, published_before))

        with progress.stage("validate") as stage:
            check_table(flows, "bronze.flows", result.flow_rows, config.quality.driver_max_rows)
            check_table(dns, "bronze.dns", result.dns_rows, config.quality.driver_max_rows)
            stage.done(objects=len(kept), rows=result.flow_rows + result.dns_rows)

        with progress.stage("load") as stage:
            # Data first, manifest last: a crash in between leaves the objects pending, and the
            # re-run replaces their rows instead of adding them again. The three data tables are
            # written side by side (flowlake.tables.side_by_side).
            side_by_side({"flows": lambda: replace_rows_of_objects(flows, paths["flows"], batch, partition_by="day"),
                          "dns": lambda: replace_rows_of_objects(dns, paths["dns"], batch, partition_by="day"),
                          "quarantine": lambda: replace_rows_of_objects(quarantine, paths["quarantine"], batch)})
            manifest_rows = spark.createDataFrame(
                [{**o, "duplicate_of": duplicates.get(o["source_object"]), "ingested_at": run_time}
                 for o in objects], MANIFEST_SCHEMA)
            merge_by_key(manifest_rows, paths["ingested_files"], "source_object")
            stage.done(objects=len(objects), rows=lines)
    finally:
        union.unpersist()
    return objects, duplicates


def stop_if_a_node_cannot_parse(objects: list[dict], raw_uri: str) -> None:
    """Raise NodeCannotParse, naming the first object, if a node lacked a tool to parse any of
    `objects` (the parser's summaries): those objects are fine and must not be recorded."""
    reasons = sorted((o["source_object"], o["unreadable_reason"]) for o in objects
                     if (o["unreadable_reason"] or "").startswith(NODE_CANNOT_PARSE))
    if reasons:
        others = f" ({len(reasons) - 1} more objects likewise)" if len(reasons) > 1 else ""
        raise NodeCannotParse(f"{reasons[0][1][len(NODE_CANNOT_PARSE):]}{others} Nothing of this batch under "
                              f"{raw_uri} was published; its objects stay pending for the next run.")


def top_reasons(quarantine: DataFrame, count: int = 3) -> list[tuple[str, int]]:
    """The most frequent kinds of quarantine reason, without the value each line had
    ("bytes: expected a non-negative 64-bit integer", not "..., got '-5'")."""
    kind = F.regexp_replace("reason", r", (got|found) .*$", "")
    return [(r.kind, r["count"]) for r in quarantine.groupBy(kind.alias("kind")).count()
            .orderBy(F.desc("count"), "kind").limit(count).collect()]


def quarantine_rate_message(result: BronzeResult, lines: int, config: Config, quarantine_uri: str,
                            reasons: list[tuple[str, int]], objects: list[dict], published_before: int = 0,
                            count: int = 3) -> str:
    """Why a run stopped at the quarantine gate: the rate, the limit and its config key, the
    top reasons and objects, where the rest is, and what earlier batches of the run published."""
    worst = sorted(objects, key=lambda o: (-o["quarantined_rows"], o["source_object"]))[:count]
    top_objects = "; ".join(f"{o['quarantined_rows']:,} in {relative_key(o['source_object'], config.raw_uri)}"
                            for o in worst if o["quarantined_rows"])
    top = "; ".join(f"{n:,} x {reason}" for reason, n in reasons)
    earlier = (f" The run's {published_before} objects before them, in earlier batches of at most "
               f"{config.bronze.batch_mib:g} MiB (bronze.batch_mib), passed the gate and were published."
               if published_before else "")
    return (f"{result.quarantined_rows:,} of {lines:,} lines ({result.quarantined_rows / lines:.1%}) went to "
            f"quarantine, above the limit bronze.max_quarantine_rate = {config.bronze.max_quarantine_rate:.1%} "
            f"(config {config.path}). Nothing was published but the quarantine rows, in {quarantine_uri}.{earlier}\n"
            f"Top reasons: {top}.\nTop objects: {top_objects}.\n"
            "Fix or remove those objects, or raise bronze.max_quarantine_rate if that share is expected.")


def summary_lines(spark: SparkSession, config: Config, result: BronzeResult) -> list[str]:
    """The closing summary: what this run did, and where each bronze table is and how big."""
    lines = [f"objects: {result.objects_seen} seen, {result.objects_new} new, {result.duplicates} duplicate "
             f"deliveries, {result.unreadable} unreadable",
             f"this run: {result.flow_rows:,} flows, {result.dns_rows:,} DNS records, "
             f"{result.quarantined_rows:,} quarantined lines"]
    written = {"flows": result.flow_rows, "dns": result.dns_rows, "quarantine": result.quarantined_rows,
               "ingested_files": result.objects_new}
    return lines + [table_line(f"bronze.{t}", rows, config.table_uri("bronze", t)) for t, rows in written.items()]
