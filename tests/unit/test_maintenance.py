"""Unit tests for maintenance's pure parts (flowlake.maintenance): which table versions the
delivered reports pin, and the VACUUM retention and table properties that keep them."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from flowlake.maintenance import Pins, pinned_versions, retained, retention_properties, vacuum_hours
from flowlake.reports.reproduce import Manifest

SILVER, USAGE = "file:///w/silver/flows", "file:///w/gold/service_usage_daily"


def delivery(name: str, delivered: date, silver: int, usage: int) -> Manifest:
    return Manifest(name, name.split("/")[0], delivered, datetime.combine(delivered, datetime.min.time(), timezone.utc),
                    {"silver.flows": (SILVER, silver), "gold.service_usage_daily": (USAGE, usage)}, {}, {})


def test_deliveries_within_the_retention_pin_every_version_they_read():
    old = delivery("trend/2016", date(2016, 1, 1), 1, 1)
    kept = [delivery("trend/2017-05-01_2017-10-31", date(2017, 11, 1), 5, 9),
            delivery("crypto/2017-10-01_2017-10-31", date(2017, 11, 2), 5, 10),
            delivery("overseas/2017-11-01_2017-11-30", date(2017, 12, 1), 7, 12)]
    # 400 days before 2017-12-01 is 2016-10-27: the 2016 delivery pins nothing any more.
    assert retained([old, *kept], date(2017, 12, 1), 400) == kept
    assert retained([old], date(2017, 1, 1), 400) == [old]
    pins = pinned_versions(kept)
    assert pins == {SILVER: Pins({5: ("crypto/2017-10-01_2017-10-31", "trend/2017-05-01_2017-10-31"),
                                  7: ("overseas/2017-11-01_2017-11-30",)}),
                    USAGE: Pins({9: ("trend/2017-05-01_2017-10-31",), 10: ("crypto/2017-10-01_2017-10-31",),
                                 12: ("overseas/2017-11-01_2017-11-30",)})}
    assert (pins[SILVER].oldest, pins[USAGE].oldest) == (5, 9)
    assert pinned_versions([]) == {}


def test_vacuum_reaches_back_past_the_oldest_pinned_commit_in_whole_days():
    now = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
    assert vacuum_hours(168, None, now) == 168
    # 10 days and 2 hours old, plus the hour's margin: 11 whole days.
    assert vacuum_hours(168, now - timedelta(days=10, hours=2), now) == 264
    # 23 hours old plus the margin is one day; the configured week is longer.
    assert vacuum_hours(168, now - timedelta(hours=23), now) == 168
    assert vacuum_hours(0, now - timedelta(hours=23), now) == 24
    assert vacuum_hours(0, now - timedelta(hours=23, minutes=30), now) == 48


def test_a_pinned_table_keeps_its_removed_files_and_commits_as_long():
    assert retention_properties(264, pinned=False) == {}
    assert retention_properties(264, pinned=True) == {"delta.deletedFileRetentionDuration": "interval 264 hours",
                                                      "delta.logRetentionDuration": "interval 720 hours"}
    # Never below Delta's defaults: a week for removed files, 30 days for commits.
    assert retention_properties(24, pinned=True) == {"delta.deletedFileRetentionDuration": "interval 168 hours",
                                                     "delta.logRetentionDuration": "interval 720 hours"}
    assert retention_properties(9600, pinned=True) == {"delta.deletedFileRetentionDuration": "interval 9600 hours",
                                                       "delta.logRetentionDuration": "interval 9600 hours"}
