"""Delta writes when another run created the table after this one looked: nothing of the other's is lost.

Two runs on one warehouse both find no table, then one creates it. The other's first write
must still replace only its own rows (its objects, its days) and merge into the manifest,
not overwrite the table the first run has just written.
"""

from __future__ import annotations

from datetime import date

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from flowlake import tables
from flowlake.maintenance import RETENTION_CHECK
from flowlake.tables import changed_days, merge_by_key, replace_rows_of_objects, replace_where, table_version

pytestmark = pytest.mark.integration
SCHEMA = "source_object string, day date, n long"
FIRST, SECOND = date(2017, 7, 1), date(2017, 7, 2)


@pytest.fixture(autouse=True)
def looked_before_the_other_run_created_it(monkeypatch):
    """This run checked for the table before the other run created it."""
    monkeypatch.setattr(tables, "table_exists", lambda spark, path: False)


def rows(spark, path):
    return sorted(tuple(r) for r in spark.read.format("delta").load(path).collect())


def test_first_write_of_objects_keeps_the_rows_another_run_just_wrote(spark, tmp_path):
    path = str(tmp_path / "flows")
    replace_rows_of_objects(spark.createDataFrame([("a", FIRST, 1)], SCHEMA), path, ["a"], "day")
    replace_rows_of_objects(spark.createDataFrame([("b", SECOND, 2)], SCHEMA), path, ["b"], "day")
    assert rows(spark, path) == [("a", FIRST, 1), ("b", SECOND, 2)]


def test_first_write_of_days_keeps_the_days_another_run_just_wrote(spark, tmp_path):
    path = str(tmp_path / "daily")
    replace_where(spark.createDataFrame([("a", FIRST, 1)], SCHEMA), path, "day IN (DATE'2017-07-01')", "day")
    replace_where(spark.createDataFrame([("b", SECOND, 2)], SCHEMA), path, "day IN (DATE'2017-07-02')", "day")
    assert rows(spark, path) == [("a", FIRST, 1), ("b", SECOND, 2)]


def test_a_column_the_table_lacks_is_added_and_reads_null_in_older_rows(spark, tmp_path):
    path = str(tmp_path / "older")
    replace_where(spark.createDataFrame([("a", FIRST, 1)], SCHEMA), path, "day IN (DATE'2017-07-01')", "day")
    replace_where(spark.createDataFrame([("b", SECOND, 2, 18)], SCHEMA + ", tcp_flags int"), path,
                  "day IN (DATE'2017-07-02')", "day")
    assert rows(spark, path) == [("a", FIRST, 1, None), ("b", SECOND, 2, 18)]


def test_first_merge_keeps_the_keys_another_run_just_merged(spark, tmp_path):
    path = f"file://{tmp_path / 'manifest'}"  # config's form, file:///..., which Delta's CREATE TABLE refuses unqualified
    merge_by_key(spark.createDataFrame([("a", FIRST, 1)], SCHEMA), path, "source_object")
    merge_by_key(spark.createDataFrame([("b", FIRST, 2), ("a", FIRST, 3)], SCHEMA), path, "source_object")
    assert rows(spark, path) == [("a", FIRST, 3), ("b", FIRST, 2)]


def test_a_reader_whose_change_data_was_vacuumed_gets_every_day_from_the_table_and_says_so(spark, tmp_path):
    path = str(tmp_path / "bronze")
    days = [FIRST, SECOND]
    for n, day in enumerate(days):
        # Two files a day, so OPTIMIZE compacts them and VACUUM deletes the ones the feed reads.
        (spark.createDataFrame([("a", day, n), ("b", day, n)], SCHEMA).repartition(2)
         .write.format("delta").mode("append").partitionBy("day").save(path))
    DeltaTable.forPath(spark, path).optimize().executeCompaction()
    spark.conf.set(RETENTION_CHECK, "false")
    try:
        DeltaTable.forPath(spark, path).vacuum(0)
    finally:
        spark.conf.unset(RETENTION_CHECK)
    said = []
    # A silver that last read version 0 needs the feed of version 1 on, whose files are gone.
    vacuumed = table_version(spark, path)
    assert changed_days(spark, path, 0, vacuumed, F.col("day"), said.append) == set(days)
    assert len(said) == 1 and said[0].startswith(f"rebuilding every day of {path}: the change data of its "
                                                 f"versions 1..{vacuumed} is gone (FAILED_READ_FILE.FILE_NOT_EXIST")
    with pytest.raises(Exception, match="FILE_NOT_EXIST"):
        changed_days(spark, path, 0, vacuumed, F.col("day"))
    # A feed that is still whole is read as ever: only the day a later commit changed.
    spark.createDataFrame([("c", FIRST, 9)], SCHEMA).write.format("delta").mode("append").save(path)
    assert changed_days(spark, path, vacuumed, vacuumed + 1, F.col("day"), said.append) == {FIRST}
    assert len(said) == 1
