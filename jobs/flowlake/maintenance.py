"""Table maintenance: compaction, VACUUM, quarantine and manifest housekeeping, table sizes.

Run it with `flowlake maintain --config C [--as-of D]`, or as a Spark application:
`spark-submit $(flowlake submit-args --config C) jobs/run_stage.py --stage maintenance --config C --as-of D`
(the flowlake_maintenance DAG does the latter weekly, as of its data interval's end).

For every flowlake table that exists, in this order:
1. Housekeeping. bronze.quarantine rows ingested before the as-of day minus
   `maintenance.quarantine_retention_days` are deleted (one Delta commit). The manifest
   (bronze.ingested_files) is never pruned: it is what keeps an object from being ingested twice.
   Its entries whose object is no longer under raw_uri (expired by a lifecycle rule, say) are
   counted and reported, so a person sees the raw side shrinking.
2. OPTIMIZE: bin-packing compaction of each table's small files (each daily replaceWhere writes
   a few files per day), one Delta commit per table that changes no row.
3. VACUUM with `maintenance.vacuum_retention_hours`: files no version inside the retention
   still references are deleted. Below Delta's 168-hour safety check only when config says so.
   Each table's history records it (a VACUUM START and a VACUUM END commit), on any store.
   Versions a delivered report read (its manifest.json, `flowlake.reports.reproduce`) are kept
   for `maintenance.reproducible_days` after its delivery: a table such a delivery pins is
   vacuumed with its retention widened, in whole days, back past the oldest pinned version's
   commit, and its `delta.deletedFileRetentionDuration` (how long removed files stay known to
   the log) and `delta.logRetentionDuration` (how long the commits stay, for time travel) are
   set to cover it too; an unpinned table gets Delta's defaults back. The run says which
   deliveries pin which versions (README, "Reproducing a delivered report").
4. A summary of each table: files and bytes of its current version (from the Delta log, no scan).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from flowlake.config import Config
from flowlake.progress import Progress
from flowlake.reports.reproduce import MANIFEST, Manifest, parse_manifest
from flowlake.stages import BRONZE_MANIFEST, BRONZE_QUARANTINE, TABLES
from flowlake.storage import list_objects, read_object
from flowlake.tables import table_exists, table_properties

DELTA_MIN_RETENTION_HOURS = 168
RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
VACUUM_LOGGING = "spark.databricks.delta.vacuum.logging.enabled"
REMOVED_FILES_RETENTION = "delta.deletedFileRetentionDuration"
LOG_RETENTION = "delta.logRetentionDuration"
DELTA_DEFAULT_LOG_RETENTION_HOURS = 30 * 24


@dataclass(frozen=True)
class TableSize:
    name: str
    files: int
    bytes: int


@dataclass(frozen=True)
class MaintenanceResult:
    quarantine_deleted: int
    manifest_orphans: int
    compacted: dict[str, tuple[int, int]]  # table -> (files removed, files added)
    vacuumed: list[str]
    sizes: list[TableSize]
    kept: list[str]  # one line per table a delivered report pins: versions, deliveries, retention


@dataclass(frozen=True)
class Pins:
    """The versions of one table that retained deliveries read: version -> deliveries."""
    versions: dict[int, tuple[str, ...]]

    @property
    def oldest(self) -> int:
        return min(self.versions)


def retained(manifests: list[Manifest], as_of: date, keep_days: int) -> list[Manifest]:
    """The deliveries made within `keep_days` before `as_of` (or after it): older ones pin nothing."""
    return [m for m in manifests if m.delivered_at.date() >= as_of - timedelta(days=keep_days)]


def pinned_versions(manifests: list[Manifest]) -> dict[str, Pins]:
    """Table location -> the versions the deliveries read, each with the deliveries reading it."""
    pins: dict[str, dict[int, list[str]]] = {}
    for manifest in manifests:
        for location, version in manifest.tables.values():
            pins.setdefault(location, {}).setdefault(version, []).append(manifest.delivery)
    return {location: Pins({v: tuple(sorted(d)) for v, d in sorted(versions.items())})
            for location, versions in pins.items()}


def vacuum_hours(configured_hours: int, oldest_pinned_commit: datetime | None, now: datetime) -> int:
    """VACUUM's retention for a table: the configured hours, or, when a delivery pins a version
    committed longer ago, that version's age in whole days. VACUUM deletes a file once it was
    removed from the table longer ago than the retention; every file the pinned version reads
    was removed, if at all, by a later commit, so it is kept. An hour's margin allows for the
    clocks of the writer and of this run; whole days change the table's retention once a day."""
    if oldest_pinned_commit is None:
        return configured_hours
    age_hours = (now - oldest_pinned_commit).total_seconds() / 3600 + 1
    return max(configured_hours, 24 * math.ceil(age_hours / 24))


def retention_properties(hours: int, pinned: bool) -> dict[str, str]:
    """The table properties that keep a pinned version readable for `hours`: its removed files
    known to the log (below 168 h only where VACUUM's safety check is off anyway) and its
    commits kept (never below Delta's 30-day default); none for an unpinned table."""
    if not pinned:
        return {}
    return {REMOVED_FILES_RETENTION: f"interval {max(hours, DELTA_MIN_RETENTION_HOURS)} hours",
            LOG_RETENTION: f"interval {max(hours, DELTA_DEFAULT_LOG_RETENTION_HOURS)} hours"}


def delivered_manifests(config: Config) -> list[Manifest]:
    """Every delivery's manifest under reports_uri (`<name>/<period>/manifest.json`); a
    malformed one stops maintenance before VACUUM could delete what its delivery needs."""
    prefix = config.reports_uri + "/"
    uris = [uri for uri in list_objects(config.reports_uri, config.s3)
            if uri.endswith(f"/{MANIFEST}") and uri[len(prefix):].count("/") == 2]
    return [parse_manifest(read_object(uri, config.s3), uri) for uri in uris]


def commit_times(spark: SparkSession, path: str) -> dict[int, datetime]:
    """Version -> commit time (UTC), for the commits the table's log still holds."""
    rows = DeltaTable.forPath(spark, path).history().select("version", "timestamp").collect()
    return {r.version: r.timestamp.replace(tzinfo=timezone.utc) for r in rows}


def keep_pinned(spark: SparkSession, name: str, path: str, pins: Pins | None, configured_hours: int,
                now: datetime) -> tuple[int, str | None]:
    """Set the table's retention properties for its pins (a commit only when they change);
    returns VACUUM's retention hours and the line saying what is kept and why."""
    committed = commit_times(spark, path).get(pins.oldest) if pins else None
    hours = vacuum_hours(configured_hours, committed, now)
    wanted = retention_properties(hours, committed is not None)
    current = table_properties(spark, path)
    if wanted and any(current.get(k) != v for k, v in wanted.items()):
        assignments = ", ".join(f"'{k}' = '{v}'" for k, v in wanted.items())
        spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({assignments})")
    elif not wanted and any(k in current for k in (REMOVED_FILES_RETENTION, LOG_RETENTION)):
        spark.sql(f"ALTER TABLE delta.`{path}` UNSET TBLPROPERTIES IF EXISTS "
                  f"('{REMOVED_FILES_RETENTION}', '{LOG_RETENTION}')")
    if not pins:
        return hours, None
    held = "; ".join(f"version {v} for {', '.join(d)}" for v, d in pins.versions.items())
    if committed is None:
        return hours, (f"{name}: cannot keep version {pins.oldest}: its commit is gone from the log, so "
                       f"{held} cannot be reproduced")
    return hours, (f"{name}: keeps {held}; VACUUM retains {hours}h (configured {configured_hours}h), "
                   f"back past version {pins.oldest}'s commit at {committed:%Y-%m-%d %H:%M} UTC")


def existing_tables(spark: SparkSession, config: Config) -> dict[str, str]:
    """`layer.table` -> location, for the flowlake tables written so far."""
    paths = {f"{layer}.{table}": config.table_uri(layer, table) for layer, table in TABLES}
    return {name: path for name, path in paths.items() if table_exists(spark, path)}


def expire_quarantine(spark: SparkSession, path: str, cutoff: datetime) -> int:
    """Delete quarantine rows ingested before `cutoff`; how many there were."""
    table = DeltaTable.forPath(spark, path)
    expired = F.col("ingested_at") < F.lit(cutoff)
    count = table.toDF().where(expired).count()
    if count:
        table.delete(expired)
    return count


def manifest_orphans(spark: SparkSession, config: Config, manifest_path: str) -> int:
    """Manifest entries whose object is no longer under raw_uri (kept, and counted)."""
    from flowlake.bronze.ingest import list_raw_objects

    manifest = spark.read.format("delta").load(manifest_path).select("source_object")
    try:
        listing = list_raw_objects(spark, config.raw_uri).select("source_object")
    except Exception as err:  # an empty or missing raw prefix: every entry is an orphan
        if "PATH_NOT_FOUND" not in str(err) and "does not exist" not in str(err):
            raise
        return manifest.count()
    return manifest.join(listing, "source_object", "left_anti").count()


def compact(spark: SparkSession, path: str) -> tuple[int, int]:
    metrics = DeltaTable.forPath(spark, path).optimize().executeCompaction().collect()[0].metrics
    return metrics.numFilesRemoved, metrics.numFilesAdded


def table_size(spark: SparkSession, name: str, path: str) -> TableSize:
    detail = DeltaTable.forPath(spark, path).detail().collect()[0]
    return TableSize(name, detail.numFiles, detail.sizeInBytes)


def run_maintenance(spark: SparkSession, config: Config, as_of: date, progress: Progress) -> MaintenanceResult:
    tables = existing_tables(spark, config)
    progress.say(f"{len(tables)} tables under {config.warehouse_uri}")
    settings = config.maintenance

    with progress.stage("housekeeping") as stage:
        deleted = orphans = 0
        if str(BRONZE_QUARANTINE) in tables:
            cutoff = datetime.combine(as_of - timedelta(days=settings.quarantine_retention_days), time(),
                                      tzinfo=timezone.utc)
            deleted = expire_quarantine(spark, tables[str(BRONZE_QUARANTINE)], cutoff)
            progress.say(f"quarantine: {deleted:,} rows ingested before {cutoff:%Y-%m-%d} deleted")
        if str(BRONZE_MANIFEST) in tables:
            orphans = manifest_orphans(spark, config, tables[str(BRONZE_MANIFEST)])
            progress.say(f"manifest: {orphans:,} entries whose object is gone from {config.raw_uri} (kept)")
        stage.done(rows=deleted)

    with progress.stage("optimize") as stage:
        compacted = {name: compact(spark, path) for name, path in tables.items()}
        stage.done(objects=sum(removed for removed, _ in compacted.values()))

    with progress.stage("vacuum") as stage:
        hours = settings.vacuum_retention_hours
        manifests = delivered_manifests(config)
        kept_manifests = retained(manifests, as_of, settings.reproducible_days)
        pins = pinned_versions(kept_manifests)
        progress.say(f"{len(manifests)} deliveries recorded; the {len(kept_manifests)} delivered within "
                     f"{settings.reproducible_days} days of {as_of} pin the table versions they read")
        # Delta refuses a retention below 168 hours unless its check is off: a reader or writer
        # may still be using a file removed more recently. A config asking for less has decided
        # that none is; the check stays on otherwise, and the run says when it is off.
        below_safe = hours < DELTA_MIN_RETENTION_HOURS
        if below_safe:
            progress.say(f"warning: maintenance.vacuum_retention_hours {hours} is below Delta's safe "
                         f"{DELTA_MIN_RETENTION_HOURS}h: its retention check is off for this VACUUM, so a "
                         f"query or write still using a file removed since {hours}h ago will fail")
        spark.conf.set(RETENTION_CHECK, str(not below_safe).lower())
        # VACUUM START and VACUUM END commits (files deleted, bytes) in each table's history:
        # Delta writes them by default on cloud stores only, and a local-disk warehouse should
        # show what was deleted when just the same (the fault suite aims kills between them).
        spark.conf.set(VACUUM_LOGGING, "true")
        kept = []
        now = datetime.now(timezone.utc)  # VACUUM counts its retention back from the wall clock
        for name, path in tables.items():
            table_hours, line = keep_pinned(spark, name, path, pins.get(path), hours, now)
            if line:
                kept.append(line)
                progress.say(line)
            DeltaTable.forPath(spark, path).vacuum(float(table_hours))
        stage.done(objects=len(tables))

    with progress.stage("sizes") as stage:
        sizes = [table_size(spark, name, path) for name, path in tables.items()]
        stage.done(objects=len(sizes))
    return MaintenanceResult(deleted, orphans, compacted, list(tables), sizes, kept)


def summary_lines(spark: SparkSession, config: Config, result: MaintenanceResult) -> list[str]:
    lines = [f"quarantine rows expired: {result.quarantine_deleted:,}; manifest entries without "
             f"their object: {result.manifest_orphans:,}",
             f"vacuumed {len(result.vacuumed)} tables, retention {config.maintenance.vacuum_retention_hours}h"
             + (f" but where a delivered report pins a version ({len(result.kept)} tables):" if result.kept else ""),
             *[f"  {line}" for line in result.kept],
             f"{'table':<28} {'files':>6} {'MiB':>9}  compaction (files removed -> added)"]
    for size in result.sizes:
        removed, added = result.compacted.get(size.name, (0, 0))
        lines.append(f"{size.name:<28} {size.files:>6} {size.bytes / 2**20:>9.2f}  "
                     f"{removed} -> {added}")
    return lines


def maintain(spark: SparkSession, config: Config, run_time: datetime, progress: Progress,
             as_of: date | None = None) -> MaintenanceResult:
    """The maintenance stage: `run_maintenance` as of `as_of`, else as of the run's day (UTC)."""
    return run_maintenance(spark, config, as_of or run_time.date(), progress)
