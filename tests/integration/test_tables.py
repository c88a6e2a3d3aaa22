"""Delta writes when another run created the table after this one looked: nothing of the other's is lost.

Two runs on one warehouse both find no table, then one creates it. The other's first write
must still replace only its own rows (its objects, its days) and merge into the manifest,
not overwrite the table the first run has just written.
"""

from __future__ import annotations

from datetime import date

import pytest

from flowlake import tables
from flowlake.tables import merge_by_key, replace_rows_of_objects, replace_where

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
