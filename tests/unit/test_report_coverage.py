"""Unit tests for flowlake.reports.coverage: how much of a report's bytes rest on guesses."""

from __future__ import annotations

from datetime import date

import pandas as pd

from flowlake.reports.coverage import coverage_headline, coverage_section, coverage_shares

COLUMNS = ["day", "range_name", "service", "category", "flows", "bytes", "estimated_bytes", "ambiguous_bytes"]
JULY, AUGUST = date(2017, 7, 3), date(2017, 8, 7)


def usage(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


ROWS = usage((JULY, "kp", "facebook", "western_social", 10, 600, 0, 0),
             (JULY, "kp", "unclassified", "other", 5, 200, 0, 50),
             (JULY, "kp", "baidu", "chinese_services", 30, 200, 200, 0),
             (AUGUST, "kp", "baidu", "chinese_services", 10, 1000, 500, 100),
             (JULY, "satgate", "facebook", "western_social", 1, 0, 0, 0))


def test_shares_per_group_of_unclassified_ambiguous_and_estimated_bytes():
    by_range = coverage_shares(ROWS, ["range_name"])
    assert by_range.to_dict("records") == [
        {"range_name": "kp", "bytes": 2000, "unclassified_share": 0.1, "ambiguous_share": 0.075,
         "estimated_share": 0.35},
        # no bytes at all: nothing rests on a guess, and no division by zero
        {"range_name": "satgate", "bytes": 0, "unclassified_share": 0.0, "ambiguous_share": 0.0,
         "estimated_share": 0.0}]
    july = coverage_shares(ROWS[ROWS["day"] == JULY], ["range_name"]).iloc[0]
    assert (july["unclassified_share"], july["ambiguous_share"], july["estimated_share"]) == (0.2, 0.05, 0.2)


def test_headline_and_section_name_every_range():
    assert coverage_headline(ROWS) == (
        "Coverage of these figures (share of bytes): kp 10.0% unclassified, 7.5% ambiguous, 35.0% estimated "
        "from sampling; satgate 0.0% unclassified, 0.0% ambiguous, 0.0% estimated from sampling.")
    section = coverage_section(ROWS)
    assert section.paragraphs[1] == ("kp: 10.0% of the bytes were unclassified, 7.5% classified without a name "
                                     "(their address had several that disagree), and 35.0% estimated from sampled "
                                     "exporters.")
    assert list(section.table["range_name"]) == ["kp", "satgate"]


def test_an_empty_window_says_so():
    assert coverage_headline(usage()) == "Coverage: no traffic in this window."
    assert coverage_section(usage()).table.empty
