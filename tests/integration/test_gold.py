"""Gold over generated months: the planted countries, miners and crossover month come back out."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from pyspark.sql import functions as F

from flowlake.gold.build import GOLD_TABLES, run_gold
from flowlake.progress import Progress
from flowlake.tables import set_properties, table_version

pytestmark = pytest.mark.integration


def gold(spark, config, table):
    return spark.read.format("delta").load(config.table_uri("gold", table))


def test_flagged_countries_are_exactly_the_planted_ones_in_every_month(spark, gold_lake):
    config, truth = gold_lake
    presence = gold(spark, config, "overseas_presence")
    months = sorted({r.period_start for r in presence.select("period_start").collect()})
    assert months == [date(2017, 7, 1), date(2017, 8, 1), date(2017, 9, 1), date(2017, 10, 1)]
    # Among them countries outside the published study whose sites only a CDN serves (VN, PE).
    assert set(truth["cdn_served_local_flows"]) & set(truth["overseas_countries"])
    for month in months:
        flagged = {r.country for r in presence.where(f"period_start = DATE'{month}' AND flagged").collect()}
        assert flagged == set(truth["overseas_countries"]), month
    # The planted countries stay all along: kept every month after the first, which has no
    # month before it to compare with.
    changes = {(r.period_start.month, r.change) for r in presence.where("flagged").collect()}
    assert changes == {(7, None), (8, "kept"), (9, "kept"), (10, "kept")}
    assert presence.where("change = 'new' OR change = 'dropped'").count() == 0
    india = presence.where("country = 'IN' AND period_start = DATE'2017-07-01'").collect()[0]
    assert india.local_domains == 12 and india.activity_ratio > 1
    assert "iitd.ac.in" in india.evidence or "delhi.gov.in" in india.evidence


def test_a_single_visit_to_a_foreign_countrys_sites_is_no_presence(spark, gold_lake):
    config, truth = gold_lake
    presence = gold(spark, config, "overseas_presence")
    (country,) = truth["single_visits"]
    rows = presence.where(f"country = '{country}' AND local_domains > 0").collect()
    # Enough local domains and activity for the two published prongs; one host on one day.
    assert [(r.period_start, r.local_domains, r.local_days, r.local_hosts, r.flagged) for r in rows] == \
        [(date(2017, 8, 1), 3, 1, 1, False)]
    assert rows[0].activity_ratio >= config.gold.presence_min_activity_ratio


def test_every_planted_miner_is_found_with_its_coin_and_role_and_nothing_else(spark, gold_lake):
    config, truth = gold_lake
    crypto = gold(spark, config, "crypto_activity_daily")
    found = {(r.internal_ip, r.coin, r.role): r.flows for r in
             crypto.groupBy("internal_ip", "coin", "role").sum("flows").withColumnRenamed("sum(flows)", "flows").collect()}
    expected = {}
    for miner in truth["miners"]:
        for role, flows in (("pool", miner["pool_flows"]), ("p2p", miner["flows"] - miner["pool_flows"])):
            if flows:
                expected[(miner["internal_ip"], miner["coin"], role)] = flows
    assert found == expected
    # Every day it mined, each miner is there with the evidence of how it mines.
    days = {(r.internal_ip, r.coin): (r.days, r.evidence) for r in crypto.groupBy("internal_ip", "coin").agg(
        F.countDistinct("day").alias("days"), F.concat_ws("|", F.collect_set("evidence")).alias("evidence")).collect()}
    for miner in truth["miners"]:
        found_days, evidence = days[(miner["internal_ip"], miner["coin"])]
        assert found_days == miner["days"]
        assert {"pool": "stratum to a pool", "p2p": "p2p port to"}[miner["method"]] in evidence


def test_the_decoys_are_crypto_contacts_not_miners(spark, gold_lake):
    config, truth = gold_lake
    contacts = gold(spark, config, "crypto_contacts_daily")
    found = {(r.internal_ip, r.coin, r.kind): r.flows for r in
             contacts.groupBy("internal_ip", "coin", "kind").agg(F.sum("flows").alias("flows")).collect()}
    assert found == {(c["internal_ip"], c["coin"], c["kind"]): c["flows"] for c in truth["crypto_contacts"]}
    # Each trap is there: pool-site visitors, one-off peers, the web server on 18080.
    assert {c["kind"] for c in truth["crypto_contacts"]} == {"pool_web", "p2p"}
    assert {c["coin"] for c in truth["crypto_contacts"] if c["kind"] == "p2p"} == {"bitcoin", "monero"}
    miners = {m["internal_ip"] for m in truth["miners"]}
    assert not miners & {ip for ip, _, _ in found}


def test_service_usage_shows_the_planted_crossover_month(spark, gold_lake):
    config, truth = gold_lake
    usage = gold(spark, config, "service_usage_daily")
    monthly = {}
    for r in usage.groupBy("range_name", usage.day.cast("string").substr(1, 7).alias("month"), "category") \
            .sum("bytes").collect():
        monthly.setdefault(r.range_name, {}).setdefault(r.month, {})[r.category] = r["sum(bytes)"]
    crossover = {}
    for range_name, months in monthly.items():
        for month in sorted(months):
            if months[month].get("chinese_services", 0) > months[month].get("western_social", 0):
                crossover[range_name] = month
                break
    assert crossover == truth["crossover_month"]
    assert set(crossover.values()) <= {"2017-08", "2017-09"}


def test_country_activity_counts_local_resources_by_their_country(spark, gold_lake):
    config, truth = gold_lake
    activity = gold(spark, config, "country_activity_daily")
    local = {r.country: r["sum(local_resource_flows)"] for r in
             activity.groupBy("country").sum("local_resource_flows").collect() if r["sum(local_resource_flows)"]}
    assert local == {c: sum(kinds.values()) for drawn in (truth["overseas_countries"], truth["single_visits"])
                     for c, kinds in drawn.items()}


def test_four_months_of_gold_are_a_few_files_per_table_not_one_a_day(spark, gold_lake):
    """Gold's tables hold tens of rows a day: not partitioned, a backlog of 123 days is written
    as at most one file per shuffle partition, where a file a day was most of gold's load."""
    from delta.tables import DeltaTable

    config, _ = gold_lake
    details = {t: DeltaTable.forPath(spark, config.table_uri("gold", t)).detail().collect()[0] for t in GOLD_TABLES}
    assert {t: d.partitionColumns for t, d in details.items()} == {t: [] for t in GOLD_TABLES}
    assert all(1 <= d.numFiles <= config.spark.shuffle_partitions for d in details.values()), \
        {t: d.numFiles for t, d in details.items()}


def test_rebuilding_gold_over_the_same_silver_gives_the_same_rows(spark, gold_lake):
    config, _ = gold_lake
    before = {t: sorted(tuple(r) for r in gold(spark, config, t).collect()) for t in GOLD_TABLES}
    versions = {t: table_version(spark, config.table_uri("gold", t)) for t in GOLD_TABLES}
    # Pretend one table never saw silver: every day is refreshed again.
    set_properties(spark, config.table_uri("gold", "crypto_activity_daily"), {"silver_flows_version": "-1"})
    result = run_gold(
        spark, config, datetime(2026, 1, 2, tzinfo=timezone.utc), Progress("test"))
    assert result.days == 123
    assert {t: sorted(tuple(r) for r in gold(spark, config, t).collect()) for t in GOLD_TABLES} == before
    assert all(table_version(spark, config.table_uri("gold", t)) > v for t, v in versions.items())
