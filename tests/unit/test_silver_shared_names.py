"""Unit tests for flowlake.silver.classify.agreed_hostnames: a shared address's passive-DNS names
name a flow only when they all mean the same, with the real catalog's domain rules."""

from __future__ import annotations

import pytest

from flowlake.silver.service_catalog import load_catalog
from flowlake.silver.classify import agreed_hostnames, hostname_profiles

SCHEMA = "line_number long, dns_candidates array<string>"


@pytest.fixture(scope="module")
def agreed(spark):
    flows = spark.createDataFrame([
        (1, ["www.facebook.com"]),                                   # one name
        (2, ["static.xx.fbcdn.net", "www.facebook.com"]),            # two names of one service
        (3, ["pool.supportxmr.com", "www.thehindu.com"]),            # a CDN edge: pool and news site
        (4, ["cdn.example-shop.com", "pool.supportxmr.com"]),        # a pool and an unknown site
        (5, None),                                                   # no name at all
        (6, ["a.unknown-one.com", "b.unknown-two.com"]),             # two names no rule knows
    ], SCHEMA)
    profiles = hostname_profiles(flows.selectExpr("explode(dns_candidates) AS hostname"),
                                 load_catalog().domain_rules(spark))
    return {r.line_number: r.hostname for r in agreed_hostnames(flows, profiles).collect()}


def test_a_single_name_names_the_flow(agreed):
    assert agreed[1] == "www.facebook.com"


def test_names_that_agree_on_the_service_name_the_flow_by_the_first(agreed):
    assert agreed[2] == "static.xx.fbcdn.net"


def test_names_that_disagree_leave_the_flow_unnamed(agreed):
    assert (agreed[3], agreed[4]) == (None, None)


def test_no_name_stays_no_name(agreed):
    assert agreed[5] is None


def test_names_that_mean_nothing_alike_agree(agreed):
    # neither says anything: the first stands for both, and the address classifies the flow
    assert agreed[6] == "a.unknown-one.com"
