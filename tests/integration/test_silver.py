"""Silver over real Delta tables, checked against the generator's planted ground truth.

Tolerance: none. Every generated destination is either named by passive DNS or lies in a
catalog prefix, every reply record has an original with the same key, and the geolocation
databases agree on the prefixes the generator draws overseas sites from, so silver must
recover the truth exactly; any difference is a defect, not noise.
"""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date, datetime, timezone

import pytest

from flowlake.bronze.ingest import run_bronze
from flowlake.config import load_config
from flowlake.generate.dumps import generate
from flowlake.progress import Progress
from flowlake.silver.build import run_silver
from flowlake.tables import PROPERTY_PREFIX, table_properties
from tests.conftest import write_config

pytestmark = pytest.mark.integration
RUN_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("silver")
    config = load_config(write_config(folder))
    truth = generate(config, date(2017, 7, 1), date(2017, 7, 3), 1500, 21, Progress("test"))
    run_bronze(spark, config, RUN_TIME, Progress("test"))
    result = run_silver(spark, config, RUN_TIME, Progress("test"))
    silver = spark.read.format("delta").load(config.table_uri("silver", "flows"))
    return config, truth, result, silver


def test_silver_keeps_every_generated_flow_once(lake):
    config, truth, result, silver = lake
    assert (result.days, result.silver_rows) == (3, truth["flows"])
    assert result.duplicates_dropped == truth["reply_duplicates"]
    assert result.unmonitored_dropped == truth["unmonitored_records"] > 0
    assert silver.count() == truth["flows"]


def test_category_flows_and_bytes_per_range_and_month_match_the_truth(lake):
    _, truth, _, silver = lake
    found = {(r.range_name, r.month, r.category): (r.flows, r.bytes) for r in silver.groupBy(
        "range_name", silver.day.cast("string").substr(1, 7).alias("month"), "category")
        .agg({"*": "count", "bytes": "sum"}).withColumnRenamed("count(1)", "flows")
        .withColumnRenamed("sum(bytes)", "bytes").collect()}
    expected = {(range_name, month, category): (v["flows"], v["bytes"])
                for range_name, months in truth["monthly_by_range_and_category"].items()
                for month, categories in months.items() for category, v in categories.items()}
    assert found == expected


def test_local_resources_per_country_and_kind_match_the_truth(lake):
    _, truth, _, silver = lake
    local = silver.where("local_resource_kind IS NOT NULL")
    found = Counter()
    for r in local.groupBy("local_resource_country", "local_resource_kind").count().collect():
        found[(r.local_resource_country, r.local_resource_kind.split("_")[0])] += r["count"]
    expected = {(country, kind): n for drawn in (truth["overseas_countries"], truth["single_visits"])
                for country, kinds in drawn.items() for kind, n in kinds.items()}
    assert dict(found) == expected
    # A site is its domain's country's wherever it is served from: geography agrees on the
    # sites hosted at home, and names the CDN's country for those a CDN serves.
    away = local.where("remote_country <> local_resource_country OR remote_country IS NULL")
    assert {r.local_resource_country: r["count"] for r in away.groupBy("local_resource_country").count().collect()} \
        == truth["cdn_served_local_flows"]
    assert {(r.service, r.remote_country) for r in away.select("service", "remote_country").distinct().collect()} \
        <= {("cloudflare", "US"), ("akamai", "US")}


def test_crypto_roles_per_miner_match_the_truth(lake):
    _, truth, _, silver = lake
    crypto = silver.where("crypto_coin IS NOT NULL")
    found = {}
    for r in crypto.groupBy("internal_ip", "crypto_coin").agg(
            {"*": "count"}).withColumnRenamed("count(1)", "flows").collect():
        pools = crypto.where(f"internal_ip = '{r.internal_ip}' AND crypto_coin = '{r.crypto_coin}' "
                             "AND crypto_role = 'pool'").count()
        peers = sorted(x.remote_ip for x in crypto.where(
            f"internal_ip = '{r.internal_ip}' AND crypto_coin = '{r.crypto_coin}' AND crypto_role = 'p2p'")
            .select("remote_ip").distinct().collect())
        found[(r.internal_ip, r.crypto_coin)] = (r.flows, pools, peers)
    expected = {(m["internal_ip"], m["coin"]): (m["flows"], m["pool_flows"], m["peers"]) for m in truth["miners"]}
    assert found == expected
    assert crypto.where("category <> 'crypto'").count() == 0


def test_silver_records_catalog_and_geo_versions(lake, spark):
    config = lake[0]
    properties = table_properties(spark, config.table_uri("silver", "flows"))
    assert properties[f"{PROPERTY_PREFIX}catalog_version"] == "2026.11.3"
    assert properties[f"{PROPERTY_PREFIX}psl_version"] == "1.1.2.20261023 (list 2026-10-22_08-36-41_UTC)"
    assert properties[f"{PROPERTY_PREFIX}geo_source"] == "iptocc"
    assert properties[f"{PROPERTY_PREFIX}geo_version"].startswith("iptocc 3.")


def test_rerun_changes_nothing_and_a_new_day_rebuilds_only_that_day(lake, spark, tmp_path):
    config, truth, _, silver = lake
    before = sorted(tuple(r) for r in silver.collect())
    assert run_silver(spark, config, RUN_TIME, Progress("test")).days == 0

    later = load_config(write_config(tmp_path))
    shutil.rmtree(tmp_path / "raw", ignore_errors=True)
    later_truth = generate(later, date(2017, 7, 4), date(2017, 7, 4), 1500, 21, Progress("test"))
    for item in (tmp_path / "raw").rglob("*.gz"):
        target = config.raw_uri[len("file://"):] / item.relative_to(tmp_path / "raw")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(item, target)
    run_bronze(spark, config, RUN_TIME, Progress("test"))
    result = run_silver(spark, config, RUN_TIME, Progress("test"))
    assert (result.days, result.silver_rows) == (1, later_truth["flows"])
    after = spark.read.format("delta").load(config.table_uri("silver", "flows"))
    assert sorted(tuple(r) for r in after.where("day < DATE'2017-07-04'").collect()) == before
