"""Unit tests for flowlake.silver.addresses: address keys, CIDR buckets, longest-prefix match.

Spark tests use tiny explicit DataFrames and compare exact rows; the key and bucket
arithmetic of the Python helpers is checked against literal values.
"""

from __future__ import annotations

import pytest
from pyspark.sql.types import StringType, StructField, StructType

from flowlake.silver.addresses import address_key, cidr_range, ip_key, longest_prefix_match, prefix_table

NAME = StructType([StructField("name", StringType())])


def _order(row: dict):
    return [(k, str(row[k])) for k in sorted(row)]


def as_dicts(df) -> list[dict]:
    return sorted((r.asDict() for r in df.collect()), key=_order)


def spark_keys(spark, addresses: list[str | None]) -> dict:
    df = spark.createDataFrame([(a,) for a in addresses], "ip string")
    return {r.ip: r.key for r in df.select("ip", ip_key("ip").alias("key")).collect()}


def matches(spark, prefixes: list[tuple[str, str]], addresses: list[str]) -> list[dict]:
    table = prefix_table(spark, [(cidr, {"name": name}) for cidr, name in prefixes], NAME)
    df = spark.createDataFrame([(a,) for a in addresses], "ip string")
    return as_dicts(longest_prefix_match(df, "ip", table))


NESTED = [("10.0.0.0/8", "a"), ("10.1.0.0/16", "b"), ("10.1.2.3/32", "c")]


# --- address keys -----------------------------------------------------------------------

def test_address_key_is_family_digit_and_fixed_width_hex():
    assert address_key("10.0.0.1") == "40a000001"
    assert address_key("::1") == "6" + "0" * 31 + "1"


def test_ip_key_equals_address_key_for_ipv4(spark):
    addresses = ["0.0.0.0", "255.255.255.255", "10.0.0.1"]
    assert spark_keys(spark, addresses) == {a: address_key(a) for a in addresses}


def test_ip_key_equals_address_key_for_ipv6_in_every_spelling(spark):
    addresses = ["2001:db8::1", "::1", "::", "2001:db8::", "fe80::1:2:3:4",
                 "2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:0DB8:0:0:0:FF00:42:8329"]
    assert spark_keys(spark, addresses) == {a: address_key(a) for a in addresses}


def test_ip_key_is_null_for_text_that_is_not_an_address(spark):
    assert spark_keys(spark, ["junk", "", "1.2.3", "1.2.3.4.5", None]) == {
        "junk": None, "": None, "1.2.3": None, "1.2.3.4.5": None, None: None}


def test_ip_key_is_null_for_an_ipv4_octet_above_255(spark):
    assert spark_keys(spark, ["256.1.1.1", "999.999.999.999"]) == {"256.1.1.1": None, "999.999.999.999": None}


def test_ip_key_is_null_for_colon_text_that_is_not_ipv6(spark):
    assert spark_keys(spark, ["foo:bar", "1::2::3"]) == {"foo:bar": None, "1::2::3": None}


# --- CIDR ranges and buckets ------------------------------------------------------------

@pytest.mark.parametrize("cidr, expected", [
    ("175.45.176.0/22", ("4af2db000", "4af2db3ff", 22, ["4af2d"])),
    ("10.0.0.0/8", ("40a000000", "40affffff", 8, [f"40a{b:02x}" for b in range(256)])),
    ("10.1.2.3/32", ("40a010203", "40a010203", 32, ["40a01"])),
    ("2001:db8::/32", ("620010db8" + "0" * 24, "620010db8" + "f" * 24, 32, ["62001"])),
], ids=["ipv4_22_one_bucket", "ipv4_8_256_buckets", "ipv4_32", "ipv6_32"])
def test_cidr_range_gives_key_range_length_and_buckets(cidr, expected):
    assert cidr_range(cidr) == expected


def test_cidr_range_rejects_prefixes_shorter_than_8():
    with pytest.raises(ValueError, match="shorter than /8"):
        cidr_range("16.0.0.0/4")


# --- longest prefix match ---------------------------------------------------------------

def test_first_and_last_address_of_a_prefix_match(spark):
    assert matches(spark, [("192.168.4.0/22", "d")], ["192.168.4.0", "192.168.7.255"]) == [
        {"ip": "192.168.4.0", "name": "d"}, {"ip": "192.168.7.255", "name": "d"}]


def test_addresses_just_outside_a_prefix_do_not_match(spark):
    assert matches(spark, [("192.168.4.0/22", "d")], ["192.168.3.255", "192.168.8.0"]) == [
        {"ip": "192.168.3.255", "name": None}, {"ip": "192.168.8.0", "name": None}]


def test_slash_32_matches_only_its_own_address(spark):
    assert matches(spark, [("203.0.113.7/32", "e")], ["203.0.113.6", "203.0.113.7", "203.0.113.8"]) == [
        {"ip": "203.0.113.6", "name": None}, {"ip": "203.0.113.7", "name": "e"},
        {"ip": "203.0.113.8", "name": None}]


def test_longest_of_nested_prefixes_wins(spark):
    assert matches(spark, NESTED, ["10.1.2.3", "10.1.2.4", "10.2.0.1"]) == [
        {"ip": "10.1.2.3", "name": "c"}, {"ip": "10.1.2.4", "name": "b"}, {"ip": "10.2.0.1", "name": "a"}]


def test_ipv6_prefix_matches_its_range_only(spark):
    last = "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"
    below = "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"
    assert matches(spark, [("2001:db8::/32", "v6"), ("10.0.0.0/8", "a")],
                   ["2001:db8::", last, below, "2001:db9::"]) == [
        {"ip": "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "name": None}, {"ip": "2001:db8::", "name": "v6"},
        {"ip": "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "name": "v6"}, {"ip": "2001:db9::", "name": None}]


def test_address_in_no_prefix_keeps_its_columns_and_null_values(spark):
    table = prefix_table(spark, [(cidr, {"name": name}) for cidr, name in NESTED], NAME)
    df = spark.createDataFrame([("8.8.8.8", "dns.google")], "ip string, host string")
    assert as_dicts(longest_prefix_match(df, "ip", table)) == [{"ip": "8.8.8.8", "host": "dns.google", "name": None}]


def test_one_output_row_per_input_row_when_several_prefixes_match(spark):
    addresses = ["10.1.2.3", "10.1.9.9", "10.200.0.1", "172.16.0.1"]
    result = matches(spark, NESTED, addresses)
    assert [r["ip"] for r in result] == sorted(addresses)
