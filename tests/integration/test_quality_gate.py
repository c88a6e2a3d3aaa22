"""The bronze.flows Great Expectations suite stops bad rows and says which and how many, with
the same verdicts whether the batch is validated in the driver (GE's pandas engine, a small
batch) or where it lies (GE's Spark engine): each case runs both ways."""

from datetime import date, datetime, timezone

import pytest

from flowlake.bronze.ingest import FLOW_COLUMNS
from flowlake.quality import QualityGateFailed, check_table

pytestmark = pytest.mark.integration
# quality.driver_max_rows for each engine: every batch here has 4 rows at most.
ENGINES = {"spark engine": 0, "pandas engine in the driver": 4}
engines = pytest.mark.parametrize("driver_max_rows", ENGINES.values(), ids=ENGINES.keys())


def flow(**overrides):
    row = {"ts": datetime(2017, 7, 1, 1, tzinfo=timezone.utc), "ts_end": datetime(2017, 7, 1, 1, 1, tzinfo=timezone.utc),
           "day": date(2017, 7, 1), "src_ip": "175.45.176.10", "dst_ip": "157.240.1.35", "src_port": 51000,
           "dst_port": 443, "protocol": 6, "tcp_flags": 0x1b, "bytes": 1000, "packets": 2, "sampling_rate": None,
           "exporter": "flows/pyongyang", "source_object": "file:/raw/a.csv", "line_number": 2}
    return {**row, **overrides}


SCHEMA = ("ts timestamp, ts_end timestamp, day date, src_ip string, dst_ip string, src_port int, dst_port int, "
          "protocol int, tcp_flags int, bytes long, packets long, sampling_rate int, exporter string, source_object string, "
          "line_number long")


@engines
def test_good_rows_pass_every_expectation(spark, driver_max_rows):
    df = spark.createDataFrame([flow(), flow(line_number=3)], SCHEMA).select(*FLOW_COLUMNS)
    assert check_table(df, "bronze.flows", 2, driver_max_rows) == 15


@engines
def test_the_gate_leaves_nothing_cached_for_a_later_identical_plan(spark, driver_max_rows):
    """A cached validated frame would answer the same plan run later (the same object read
    again after it changed) with the rows validated now."""
    df = spark.createDataFrame([flow(line_number=7)], SCHEMA).select(*FLOW_COLUMNS)
    check_table(df, "bronze.flows", 1, driver_max_rows)
    assert not spark._jsparkSession.sharedState().cacheManager().lookupCachedData(df._jdf).isDefined()


@engines
def test_bad_rows_fail_naming_the_expectation_and_the_row_count(spark, driver_max_rows):
    df = spark.createDataFrame([flow(), flow(line_number=3, bytes=-5), flow(line_number=4, dst_port=70000),
                                flow(line_number=4, tcp_flags=256)], SCHEMA)
    with pytest.raises(QualityGateFailed) as err:
        check_table(df, "bronze.flows", 4, driver_max_rows)
    message = str(err.value)
    assert message.startswith("quality gate for bronze.flows failed 4 of 15 expectations; nothing was published")
    assert "expect_column_values_to_be_between(column='bytes', min_value=0): 1 of 4 rows failed, e.g. [-5]" in message
    assert "expect_column_values_to_be_between(column='dst_port', min_value=0, max_value=65535): 1 of 4 rows failed, e.g. [70000]" in message
    assert "expect_column_values_to_be_between(column='tcp_flags', min_value=0, max_value=255): 1 of 4 rows failed, e.g. [256]" in message
    assert "expect_compound_columns_to_be_unique(column_list=['source_object', 'line_number'])" in message
