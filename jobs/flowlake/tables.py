"""Delta table writes shared by every layer: create on first write, replace rows atomically.

Every publish is one Delta commit, so readers see the old version or the new one, never a
half-written table, and writing the same rows again changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from delta.tables import DeltaTable
from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql.types import StructType


PROPERTY_PREFIX = "flowlake."


def sql_string(value: str) -> str:
    """A Spark SQL string literal for `value` (object keys may hold quotes or backslashes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def table_exists(spark: SparkSession, path: str) -> bool:
    return DeltaTable.isDeltaTable(spark, path)


def read_or_empty(spark: SparkSession, path: str, schema: StructType) -> DataFrame:
    """The table at `path`, or an empty DataFrame of `schema` before its first write."""
    if table_exists(spark, path):
        return spark.read.format("delta").load(path)
    return spark.createDataFrame([], schema)


def replace_where(df: DataFrame, path: str, predicate: str, partition_by: str | None = None) -> None:
    """Make `df` the table's only rows matching `predicate`, in one commit; the first write creates it.

    The predicate applies to the first write too: a run that found no table and another run
    that created it meanwhile then each replace their own rows, where a plain overwrite would
    delete every row the other run wrote.

    A column the table lacks is added in the same commit, null in the rows written before it
    (a release that reads more, such as bronze's `tcp_flags`, upgrades the table as it writes).
    """
    writer = (df.write.format("delta").mode("overwrite").option("replaceWhere", predicate)
              .option("mergeSchema", "true"))
    (writer.partitionBy(partition_by) if partition_by else writer).save(path)


def replace_rows_of_objects(df: DataFrame, path: str, source_objects: list[str],
                            partition_by: str | None = None) -> None:
    """Make `df` the only rows of these source objects in the table, in one commit."""
    predicate = "source_object IN (" + ", ".join(sql_string(o) for o in source_objects) + ")"
    replace_where(df, path, predicate, partition_by)


def hadoop_qualified(path: str) -> str:
    """`file:///x` spelled as Hadoop qualifies it, `file:/x`: Delta's CREATE TABLE compares the
    location it was given with the qualified one as strings and refuses the pair as two
    different locations (delta-io/delta#1523)."""
    return "file:/" + path.removeprefix("file:///") if path.startswith("file:///") else path


def merge_by_key(df: DataFrame, path: str, key: str) -> None:
    """Upsert `df` into the table on `key`, creating the (empty) table on first use.

    Creating it empty and always merging keeps the rows another run merged while this one
    ran; overwriting a table that run had just created would drop them.
    """
    (DeltaTable.createIfNotExists(df.sparkSession).location(hadoop_qualified(path)).addColumns(df.schema).execute()
     .alias("t").merge(df.alias("n"), f"t.{key} = n.{key}")
     .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())


def table_version(spark: SparkSession, path: str) -> int:
    return DeltaTable.forPath(spark, path).history(1).collect()[0].version


def table_properties(spark: SparkSession, path: str) -> dict[str, str]:
    """The table's properties ({} before its first write), from its metadata alone: DESCRIBE
    DETAIL would also rebuild the table's file list, three Spark jobs (BENCHMARKS.md, "Small runs")."""
    if not table_exists(spark, path):
        return {}
    return {r.key: r.value for r in spark.sql(f"SHOW TBLPROPERTIES delta.`{path}`").collect()}


# What a change-feed read says when what it needs is gone: VACUUM deleted data files that the
# versions it reads added (an OPTIMIZE or a rewrite had removed them from the table), or the log
# no longer holds those commits. The table itself still holds every current row.
CHANGE_DATA_GONE = ("FAILED_READ_FILE.FILE_NOT_EXIST", "java.io.FileNotFoundException", "DELTA_MISSING_CHANGE_DATA",
                    "DELTA_FILE_NOT_FOUND", "DELTA_VERSIONS_NOT_CONTIGUOUS")


def changed_days(spark: SparkSession, path: str, since_version: int | None, current_version: int | None,
                 day_column: Column, say: Callable[[str], None] | None = None) -> set[date]:
    """Days whose rows changed after `since_version` (every day if None) up to `current_version`
    (the caller's `table_version`, None while the table does not exist), from the change feed.

    When the feed of those versions is gone (CHANGE_DATA_GONE: a reader lagging behind a
    VACUUM), every day the table holds, read from the table itself, and one line to `say`
    saying so; without `say` the error is raised."""
    if current_version is None:
        return set()
    if since_version is None:
        changes = spark.read.format("delta").load(path)
    elif since_version >= current_version:
        return set()
    else:
        changes = (spark.read.format("delta").option("readChangeFeed", "true")
                   .option("startingVersion", since_version + 1).option("endingVersion", current_version).load(path))
    try:
        return {r.day for r in changes.select(day_column.alias("day")).distinct().collect()}
    except (Py4JJavaError, PySparkException) as err:
        gone = next((marker for marker in CHANGE_DATA_GONE if marker in str(err)), None)
        if since_version is None or gone is None or say is None:
            raise
        say(f"rebuilding every day of {path}: the change data of its versions {since_version + 1}..{current_version} "
            f"is gone ({gone}: VACUUM deleted files this lagging reader still needed), so the days come from the "
            f"table itself")
        return changed_days(spark, path, None, current_version, day_column)


def batches_by_size(items: list[tuple], limit: int) -> list[list]:
    """Split (key, size) pairs, in key order, into consecutive batches whose sizes add up to at
    most `limit`; a key larger than `limit` is a batch of its own. Bronze batches raw objects
    by their bytes, silver changed days by their bronze rows: a backlog is written in parts the
    driver can hold, each its own commit."""
    batches, current, current_size = [], [], 0
    for key, size in sorted(items):
        if current and current_size + size > limit:
            batches.append(current)
            current, current_size = [], 0
        current.append(key)
        current_size += size
    return batches + [current] if current else batches


def day_list(days) -> str:
    """A SQL list of date literals, for replaceWhere and partition filters."""
    return ", ".join(f"DATE'{d.isoformat()}'" for d in sorted(days))


def set_properties(spark: SparkSession, path: str, properties: dict[str, str]) -> None:
    """Record `flowlake.<key>` table properties (versions read, catalog and geo sources)."""
    assignments = ", ".join(f"{sql_string(PROPERTY_PREFIX + k)} = {sql_string(str(v))}" for k, v in properties.items())
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({assignments})")


def side_by_side(calls: dict[str, Callable[[], object]]) -> dict[str, object]:
    """Each call's result by its name, each call run on a thread of the driver of its own.

    For independent writes to different tables: Spark runs jobs from several threads at once,
    and each commit's listing, log reads and writes overlap the others'. Bronze's three
    tables written so took a new day's load from 9.2-10.1 to 8.1-8.2 s; gold's six tables
    gained nothing measurable and are written one after another (BENCHMARKS.md, "2026-12-02
    12:26"). Every call runs to its end before the first error is raised, so a table's write
    is never cut short by another's failure.
    """
    with ThreadPoolExecutor(max_workers=max(len(calls), 1), thread_name_prefix="flowlake table") as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
    return {name: future.result() for name, future in futures.items()}


def table_line(name: str, rows_written: int, warehouse_table_uri: str) -> str:
    """One summary line: a table's name, the rows this run wrote to it and its location.

    The rows come from what the stage committed, not from counting the table: a count loads
    the table's whole file list, three Spark jobs a table, which were a quarter of a run that
    found nothing new (BENCHMARKS.md, "Small runs")."""
    return f"{name:<28} {rows_written:>12,} rows written  {warehouse_table_uri}"
