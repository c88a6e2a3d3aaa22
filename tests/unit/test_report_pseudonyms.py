"""Unit tests for flowlake.reports.pseudonyms: HMAC-SHA256 in Spark expressions, checked
against Python's hmac module, and the key's refusal when it is missing."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from pyspark.sql import functions as F

from flowlake.config import ReportSettings
from flowlake.reports.pseudonyms import PseudonymKeyMissing, hmac_sha256_hex, pseudonym_key, pseudonymised

ADDRESSES = ["175.45.176.1", "175.45.176.10", "2001:db8::1", ""]


@pytest.mark.parametrize("key", [b"k", b"flowlake-test-pseudonym-key", b"x" * 64, b"long key " * 20],
                         ids=["short", "typical", "one block", "longer than a block"])
def test_hmac_in_spark_equals_pythons_hmac(spark, key):
    df = spark.createDataFrame([(a,) for a in ADDRESSES], "ip string")
    got = {r.ip: r.mac for r in df.select("ip", hmac_sha256_hex(F.col("ip"), key).alias("mac")).collect()}
    assert got == {a: hmac.new(key, a.encode(), hashlib.sha256).hexdigest() for a in ADDRESSES}


def test_pseudonymised_replaces_each_address_by_its_keyed_name(spark):
    df = spark.createDataFrame([("175.45.176.1", 3), ("175.45.176.1", 4), (None, 5)], "internal_ip string, flows long")
    rows = pseudonymised(df, "internal_ip", b"secret").collect()
    expected = "host-" + hmac.new(b"secret", b"175.45.176.1", hashlib.sha256).hexdigest()[:16]
    assert expected == "host-38acfcd7ab83815a"
    assert [(r.internal_ip, r.flows) for r in rows] == [(expected, 3), (expected, 4), (None, 5)]
    assert pseudonymised(df, "internal_ip", None) is df


def test_pseudonym_key_comes_from_the_environment_and_is_required_when_enabled(monkeypatch):
    settings = ReportSettings(pseudonymise=True, pseudonym_key_env="FLOWLAKE_TEST_PSEUDONYM_KEY")
    monkeypatch.delenv("FLOWLAKE_TEST_PSEUDONYM_KEY", raising=False)
    with pytest.raises(PseudonymKeyMissing, match="FLOWLAKE_TEST_PSEUDONYM_KEY .reports.pseudonym_key_env. is not set"):
        pseudonym_key(settings, emailed=False)
    monkeypatch.setenv("FLOWLAKE_TEST_PSEUDONYM_KEY", "s3cret")
    assert pseudonym_key(settings, emailed=False) == b"s3cret"


@pytest.mark.parametrize("pseudonymise, emailed, expected", [
    (None, True, b"s3cret"),  # the default: a mailed report is pseudonymised
    (None, False, None),
    (False, True, None),  # the explicit opt-out
    (True, False, b"s3cret"),
])
def test_mailed_reports_are_pseudonymised_unless_the_config_opts_out(monkeypatch, pseudonymise, emailed, expected):
    monkeypatch.setenv("FLOWLAKE_TEST_PSEUDONYM_KEY", "s3cret")
    settings = ReportSettings(pseudonymise=pseudonymise, pseudonym_key_env="FLOWLAKE_TEST_PSEUDONYM_KEY")
    assert pseudonym_key(settings, emailed) == expected


def test_a_mailed_report_without_the_key_stops_and_says_how_to_opt_out(monkeypatch):
    monkeypatch.delenv("FLOWLAKE_TEST_PSEUDONYM_KEY", raising=False)
    with pytest.raises(PseudonymKeyMissing, match="a mailed report names internal hosts by pseudonym unless "
                                                  "reports.pseudonymise is false"):
        pseudonym_key(ReportSettings(pseudonym_key_env="FLOWLAKE_TEST_PSEUDONYM_KEY"), emailed=True)
