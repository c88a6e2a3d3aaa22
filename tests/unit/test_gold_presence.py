"""Unit tests for flowlake.gold.aggregates.overseas_presence: which countries are flagged, and
monthly_presence: every month's in one pass, the same rows as one month at a time.

One tiny month of silver rows: Vietnamese government sites served from Cloudflare's
addresses (geography US, service cloudflare, an excluded service), used by two hosts on two
days; a Peruvian site used by one host on three days; a Brazilian one by two hosts on one day.
"""

from __future__ import annotations

from datetime import date

import pytest

from flowlake.gold.aggregates import PresenceRule, monthly_presence, overseas_presence

SILVER_SCHEMA = ("day date, direction string, internal_ip string, service string, category string, "
                 "remote_country string, local_resource_kind string, local_resource_domain string, "
                 "local_resource_country string, flows long, bytes long")
JULY = (date(2017, 7, 1), date(2017, 7, 31))
GOV = "government_national"


def day(n):
    return date(2017, 7, n)


SILVER = [
    (day(3), "outbound", "10.0.0.1", "cloudflare", "other", "US", GOV, "moh.gov.vn", "VN", 1, 100),
    (day(4), "outbound", "10.0.0.2", "cloudflare", "other", "US", GOV, "mof.gov.vn", "VN", 1, 100),
    (day(4), "outbound", "10.0.0.1", "cloudflare", "other", "US", None, None, None, 1, 100),  # the CDN itself
    (day(5), "outbound", "10.0.0.1", "unclassified", "other", "PE", GOV, "minedu.gob.pe", "PE", 1, 100),
    (day(6), "outbound", "10.0.0.1", "unclassified", "other", "PE", GOV, "minedu.gob.pe", "PE", 1, 100),
    (day(7), "outbound", "10.0.0.1", "unclassified", "other", "PE", GOV, "minedu.gob.pe", "PE", 1, 100),
    (day(8), "outbound", "10.0.0.1", "akamai", "other", "US", "military", "army.mil.br", "BR", 1, 100),
    (day(8), "outbound", "10.0.0.2", "akamai", "other", "US", "military", "army.mil.br", "BR", 1, 100),
    (day(9), "inbound", "10.0.0.3", "unclassified", "other", "BR", "military", "army.mil.br", "BR", 1, 100),
]


def presence(spark, **thresholds):
    """{country: (local_domains, local_days, local_hosts, flows, flagged)} for July."""
    rule = PresenceRule(min_activity_ratio=0.0, min_local_domains=1, **thresholds)
    rows = overseas_presence(spark.createDataFrame(SILVER, SILVER_SCHEMA), *JULY, rule,
                             ["cloudflare", "akamai"]).collect()
    return {r.country: (r.local_domains, r.local_days, r.local_hosts, r.flows, r.flagged) for r in rows}


def test_cdn_served_local_resource_counts_for_its_country_and_one_day_or_one_host_does_not_flag(spark):
    assert presence(spark, min_days=2, min_hosts=2) == {
        "VN": (2, 2, 2, 2, True),   # behind an excluded CDN service, still Vietnam's
        "PE": (1, 3, 1, 3, False),  # one host only
        "BR": (1, 1, 2, 2, False),  # one day only (the inbound flow is not the hosts' own)
    }


@pytest.mark.parametrize("thresholds, flagged", [
    ({"min_days": 1, "min_hosts": 1}, {"VN", "PE", "BR"}),
    ({"min_days": 3, "min_hosts": 1}, {"PE"}),
    ({"min_days": 1, "min_hosts": 2}, {"VN", "BR"}),
])
def test_days_and_hosts_thresholds_decide_the_flag(spark, thresholds, flagged):
    assert {c for c, row in presence(spark, **thresholds).items() if row[-1]} == flagged


def test_monthly_presence_equals_each_month_computed_alone(spark):
    # August: Peru's site on two days by two hosts, and a month of its own for the averages.
    august = [(date(2017, 8, d), "outbound", f"10.0.0.{d}", "unclassified", "other", "PE", GOV, "minedu.gob.pe",
               "PE", d, 10 * d) for d in (1, 31)]
    silver = spark.createDataFrame(SILVER + august, SILVER_SCHEMA)
    rule = PresenceRule(min_activity_ratio=0.0, min_local_domains=1, min_days=2, min_hosts=2)
    excluded = ["cloudflare", "akamai"]
    one_at_a_time = (overseas_presence(silver, *JULY, rule, excluded)
                     .unionByName(overseas_presence(silver, date(2017, 8, 1), date(2017, 8, 31), rule, excluded)))

    monthly = monthly_presence(silver, rule, excluded)

    assert sorted(monthly.collect()) == sorted(one_at_a_time.collect())
    assert sorted((r.period_start.month, r.country, r.flagged) for r in monthly.collect()) == [
        (7, "BR", False), (7, "PE", False), (7, "VN", True), (8, "PE", True)]
