"""Unit tests for flowlake.silver.geo: country, AS number and AS name per distinct address."""

from __future__ import annotations

from flowlake.silver.service_catalog import load_catalog
from flowlake.silver.geo import address_locations, asn_version, geo_version

FACEBOOK_V6 = "2a03:2880:f10c:83:face:b00c:0:25de"


def test_each_distinct_address_gets_its_country_and_as_ipv4_and_ipv6(spark):
    addresses = spark.createDataFrame(
        [("157.240.1.1",), ("157.240.1.1",), ("47.88.1.1",), ("8.8.8.8",), (FACEBOOK_V6,), ("10.1.2.3",),
         ("175.45.176.1",)], "remote_ip string")
    found = address_locations(addresses, "remote_ip", "iptocc", load_catalog().as_numbers()).collect()
    assert sorted(tuple(r) for r in found) == sorted([
        ("157.240.1.1", "US", 32934, "FACEBOOK"),
        ("47.88.1.1", "US", 45102, "Alibaba US Technology Co., Ltd."),  # Alibaba Cloud
        ("8.8.8.8", "US", 15169, "GOOGLE"),
        (FACEBOOK_V6, "IE", 32934, "FACEBOOK"),
        ("10.1.2.3", None, None, None),                     # private: no country, no AS
        ("175.45.176.1", "KP", None, "Ryugyong-dong"),      # named by the database, not numbered by the catalog
    ])


def test_the_as_comes_from_geoip2fast_whatever_source_gives_the_country(spark):
    addresses = spark.createDataFrame([("47.88.1.1",)], "remote_ip string")
    found = address_locations(addresses, "remote_ip", "geoip2fast", {"Alibaba US Technology Co., Ltd.": 45102})
    assert [tuple(r) for r in found.collect()] == [("47.88.1.1", "US", 45102, "Alibaba US Technology Co., Ltd.")]


def test_versions_name_the_package_and_the_database_edition():
    assert asn_version().startswith("geoip2fast 1.2.2 (MAXMIND:GeoLite2-CountryASN-IPv4IPv6-en-")
    assert geo_version("geoip2fast") == asn_version()
    assert geo_version("iptocc").startswith("iptocc 3.")
