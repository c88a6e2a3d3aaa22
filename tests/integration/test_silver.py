"""Silver over real Delta tables, checked against the generator's planted ground truth.

Tolerance: none. Every generated destination is either named by passive DNS or lies in a
catalog prefix or AS, every reply record has an original with the same key, and the geolocation
databases agree on the prefixes the generator draws overseas sites from, so silver must
recover the truth exactly; any difference is a defect, not noise. The truth counts what each
sampled record stands for (the border link's), and keeps apart what remote hosts started.
"""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date, datetime, timezone

import pytest
from pyspark.sql import functions as F

from flowlake.bronze.ingest import run_bronze
from flowlake.config import load_config
from flowlake.generate.dumps import generate, hosting_servers
from flowlake.progress import Progress
from flowlake.silver.service_catalog import load_catalog
from flowlake.silver.build import run_silver
from flowlake.storage import local_path
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
    started = silver.where("direction <> 'inbound'")
    found = {(r.range_name, r.month, r.category): (r.flows, r.bytes) for r in started.groupBy(
        "range_name", started.day.cast("string").substr(1, 7).alias("month"), "category")
        .agg({"flows": "sum", "bytes": "sum"}).withColumnRenamed("sum(flows)", "flows")
        .withColumnRenamed("sum(bytes)", "bytes").collect()}
    expected = {(range_name, month, category): (v["flows"], v["bytes"])
                for range_name, months in truth["monthly_by_range_and_category"].items()
                for month, categories in months.items() for category, v in categories.items()}
    assert found == expected


def test_what_remote_hosts_started_is_inbound_and_nothing_else_is(lake):
    _, truth, _, silver = lake
    served = {r.range_name: {"flows": r["sum(flows)"], "bytes": r["sum(bytes)"]} for r in
              silver.where("direction = 'inbound'").groupBy("range_name").sum("flows", "bytes").collect()}
    assert served == truth["served_by_range"]
    # the crawlers' fetches were seen as the web server's bigger replies only
    assert silver.where("direction = 'inbound' AND internal_port = 443 AND record_from = 'server'").count() > 0
    # the port sweep's SYNs were told by their flags, from a source port below the swept one
    swept = silver.where("direction_from = 'tcp_flags'")
    assert swept.count() > 0
    assert swept.where("direction <> 'inbound' OR remote_port >= internal_port").count() == 0


def test_sampled_and_ambiguous_bytes_match_the_truth(lake):
    _, truth, result, silver = lake
    assert (result.coverage.estimated_bytes, result.coverage.ambiguous_bytes) == (
        truth["coverage"]["estimated_bytes"], truth["coverage"]["ambiguous_bytes"])
    sampled = silver.where("sampling_rate > 1")
    assert sampled.where("bytes <> raw_bytes * sampling_rate OR flows <> sampling_rate").count() == 0
    # a shared address's names disagree: no name, and neither the pool nor the news site is claimed
    shared = silver.where("dns_names > 1")
    assert shared.count() > 0
    assert shared.where("hostname IS NOT NULL OR crypto_coin IS NOT NULL "
                        "OR local_resource_kind IS NOT NULL").count() == 0


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
    # The CDNs' addresses are American; which service they classify as depends on the AS (an
    # Akamai edge inside a carrier's AS is no akamai address), and never decides the country.
    assert {r.remote_country for r in away.select("remote_country").distinct().collect()} == {"US"}


def test_crypto_roles_per_host_match_the_truth_of_miners_and_decoys(lake):
    _, truth, _, silver = lake
    crypto = silver.where("crypto_coin IS NOT NULL")
    found = {(r.internal_ip, r.crypto_coin, r.crypto_role): (r.flows, sorted(r.remote_ips)) for r in
             crypto.groupBy("internal_ip", "crypto_coin", "crypto_role")
             .agg(F.count(F.lit(1)).alias("flows"), F.collect_set("remote_ip").alias("remote_ips")).collect()}
    expected = {}
    for m in truth["miners"]:
        for role, flows, remotes in (("pool", m["pool_flows"], m["pools"]),
                                     ("p2p", m["flows"] - m["pool_flows"], m["peers"])):
            if flows:
                expected[(m["internal_ip"], m["coin"], role)] = (flows, remotes)
    # Silver tags every crypto flow, the decoys' too (a pool's web site as pool_web): gold decides.
    for c in truth["crypto_contacts"]:
        expected[(c["internal_ip"], c["coin"], c["kind"])] = (c["flows"], c["remote_ips"])
    assert {kind for _, _, kind in expected} == {"pool", "p2p", "pool_web"}
    assert found == expected
    assert crypto.where("category <> 'crypto'").count() == 0


def test_unnamed_cloud_and_vps_boxes_are_hosting_with_their_as(lake):
    _, _, _, silver = lake
    drawn = {ip: (service, category) for ip, service, category in hosting_servers()}
    found = silver.where(silver.remote_ip.isin(list(drawn))).select(
        "remote_ip", "hostname", "service", "category", "remote_asn").distinct().collect()
    assert {r.remote_ip for r in found} == set(drawn)
    for r in found:
        assert (r.hostname, (r.service, r.category)) == (None, drawn[r.remote_ip]), r
        assert r.remote_asn in (45102, 132203, 14061, 20473), r


def test_tor_flows_match_the_truth_with_relays_on_rented_servers_among_them(lake):
    # The generator's relays sit in blocks the catalog calls vps and are reached on 443 without
    # a name: only the shipped relay list makes them tor.
    _, truth, _, silver = lake
    assert silver.where("service = 'tor'").count() == truth["tor_flows"]
    assert silver.where("service = 'tor' AND remote_port = 443 AND hostname IS NULL").count() > 0


def test_lookalike_names_are_not_the_services_they_end_like(lake):
    _, _, _, silver = lake
    lookalikes = silver.where("hostname IN ('www.plumbing.com', 'www.dropbox.com', 'www.olive.com')")
    assert {(r.service, r.category) for r in lookalikes.select("service", "category").distinct().collect()} == {
        ("unclassified", "other")}


def test_silver_records_catalog_geo_and_asn_versions(lake, spark):
    config = lake[0]
    properties = table_properties(spark, config.table_uri("silver", "flows"))
    assert properties[f"{PROPERTY_PREFIX}catalog_version"] == load_catalog().version
    assert properties[f"{PROPERTY_PREFIX}psl_version"] == "1.1.2.20261023 (list 2026-10-22_08-36-41_UTC)"
    assert properties[f"{PROPERTY_PREFIX}geo_source"] == "iptocc"
    assert properties[f"{PROPERTY_PREFIX}geo_version"].startswith("iptocc 3.")
    assert properties[f"{PROPERTY_PREFIX}asn_version"].startswith("geoip2fast 1.2.2 (MAXMIND:GeoLite2-CountryASN")


def test_each_day_is_written_as_one_file(lake, spark):
    """Silver shuffles the flows once, by day, and joins everything else by broadcast: a day
    spread over every partition would be a file per day and partition for gold to read."""
    silver = lake[3]
    files = silver.select("day", F.input_file_name().alias("file")).distinct().groupBy("day").count().collect()
    assert sorted((r.day, r["count"]) for r in files) == [(date(2017, 7, d), 1) for d in (1, 2, 3)]


def test_a_backlog_rebuilt_in_batches_of_days_equals_one_batch(lake, spark, tmp_path):
    """silver.batch_rows below a day's flows: each day is a batch and a commit of its own, with
    the same rows and figures as one batch, and the bronze versions recorded once, after the last."""
    config, _, result, silver = lake
    shutil.copytree(local_path(config.warehouse_uri) / "bronze", tmp_path / "warehouse" / "bronze")
    batched = load_config(write_config(tmp_path, config.raw_uri, silver={"batch_rows": 1}))
    assert run_silver(spark, batched, RUN_TIME, Progress("test")) == result
    path = batched.table_uri("silver", "flows")
    assert Counter(map(tuple, spark.read.format("delta").load(path).collect())) == Counter(map(tuple, silver.collect()))
    history = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").orderBy("version").collect()
    assert [r.operation for r in history] == ["WRITE", "WRITE", "WRITE", "SET TBLPROPERTIES"]
    assert table_properties(spark, path) == table_properties(spark, config.table_uri("silver", "flows"))


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
