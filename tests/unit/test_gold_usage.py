"""Unit tests for gold's usage and served tables: only what the monitored hosts started counts as
their use, estimates are summed, and what remote hosts started toward them is kept apart."""

from __future__ import annotations

from datetime import date

from flowlake.gold.aggregates import served_daily, service_usage_daily

SILVER_SCHEMA = ("day date, range_name string, internal_ip string, internal_port int, remote_ip string, "
                 "remote_port int, protocol int, direction string, service string, category string, "
                 "remote_country string, hostname string, dns_names int, sampling_rate int, flows long, "
                 "bytes long, packets long")
DAY = date(2017, 7, 1)
HOST, SERVER = "175.45.176.10", "175.45.176.20"


def silver_row(direction="outbound", internal=(HOST, 50000), remote=("157.240.1.1", 443), service="facebook",
               category="western_social", country="US", hostname="www.facebook.com", dns_names=1, rate=1,
               raw_bytes=1000, raw_packets=2):
    return (DAY, "kp", *internal, *remote, 6, direction, service, category, country, hostname, dns_names, rate,
            rate, raw_bytes * rate, raw_packets * rate)


def silver(spark, *rows):
    return spark.createDataFrame(list(rows), SILVER_SCHEMA)


def test_usage_sums_estimates_and_says_how_much_is_estimated_or_ambiguous(spark):
    rows = silver(spark,
                  silver_row(),
                  silver_row(rate=100),  # a 1:100 sampled record: 100 flows, 100 times the bytes
                  silver_row(hostname=None, dns_names=3),  # a shared address whose names disagree
                  silver_row(internal=(SERVER, 443), remote=("104.131.7.7", 45000), direction="inbound",
                             service="vps", category="anonymity"))  # a crawler: not the host's use
    usage = [r.asDict() for r in service_usage_daily(rows).collect()]
    assert usage == [{"day": DAY, "range_name": "kp", "service": "facebook", "category": "western_social",
                      "flows": 102, "bytes": 102_000, "packets": 204, "hosts": 1, "estimated_bytes": 100_000,
                      "ambiguous_bytes": 1000}]


def test_internal_conversations_count_as_use_and_inbound_ones_are_served(spark):
    rows = silver(spark, silver_row(direction="internal", remote=(SERVER, 22), service="unclassified",
                                    category="other", country="KP"),
                  silver_row(direction="inbound", internal=(SERVER, 443), remote=("104.131.7.7", 45000),
                             service="vps", category="anonymity"),
                  silver_row(direction="inbound", internal=(SERVER, 443), remote=("104.131.7.8", 45001),
                             service="vps", category="anonymity", rate=10))
    assert [(r.service, r.flows) for r in service_usage_daily(rows).collect()] == [("unclassified", 1)]
    served = [r.asDict() for r in served_daily(rows).collect()]
    assert served == [{"day": DAY, "range_name": "kp", "internal_ip": SERVER, "internal_port": 443, "protocol": 6,
                       "remote_country": "US", "flows": 11, "bytes": 11_000, "packets": 22, "remote_ips": 2}]
