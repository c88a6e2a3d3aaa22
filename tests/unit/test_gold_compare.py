"""Unit tests for gold's period comparisons: overseas countries new, kept and dropped; crypto
volume and peer rate the same, higher, lower, new or stopped."""

from __future__ import annotations

from datetime import date

from flowlake.gold.aggregates import crypto_period_comparison, presence_changes

PRESENCE_SCHEMA = ("period_start date, period_end date, country string, activity_ratio double, local_domains long, "
                   "local_days long, local_hosts long, flagged boolean, evidence string, bytes long, flows long, "
                   "hosts long")
JULY, AUGUST = (date(2017, 7, 1), date(2017, 7, 31)), (date(2017, 8, 1), date(2017, 8, 31))


def presence_row(month, country, flagged, ratio=2.0):
    return (*month, country, ratio, *((4, 5, 2) if flagged else (0, 0, 0)), flagged, "x.in (3)" if flagged else "",
            100, 10, 2)


def changes(spark, *rows):
    df = presence_changes(spark.createDataFrame(list(rows), PRESENCE_SCHEMA))
    return {(r.period_start.month, r.country): (r.flagged, r.previously_flagged, r.change) for r in df.collect()}


def test_each_country_is_new_kept_or_dropped_against_the_month_before(spark):
    result = changes(spark,
                     presence_row(JULY, "IN", True), presence_row(AUGUST, "IN", True),
                     presence_row(JULY, "MY", False), presence_row(AUGUST, "MY", True),
                     presence_row(JULY, "KE", True), presence_row(AUGUST, "KE", False, ratio=0.2),
                     presence_row(JULY, "NZ", False), presence_row(AUGUST, "NZ", False))
    assert {k: v for k, v in result.items() if k[0] == 8} == {
        (8, "IN"): (True, True, "kept"), (8, "MY"): (True, False, "new"),
        (8, "KE"): (False, True, "dropped"), (8, "NZ"): (False, False, None)}


def test_the_first_month_has_nothing_to_compare_with(spark):
    result = changes(spark, presence_row(JULY, "IN", True), presence_row(JULY, "NZ", False))
    assert result == {(7, "IN"): (True, None, None), (7, "NZ"): (False, None, None)}


def test_a_flagged_country_with_no_activity_at_all_is_dropped_with_zero_metrics(spark):
    df = presence_changes(spark.createDataFrame(
        [presence_row(JULY, "IN", True), presence_row(JULY, "BD", False), presence_row(AUGUST, "IN", True)],
        PRESENCE_SCHEMA))
    august = {r.country: r.asDict() for r in df.where("period_start = DATE'2017-08-01'").collect()}
    # Bangladesh was active but not flagged in July: its absence in August is no change.
    assert sorted(august) == ["IN"]
    df = presence_changes(spark.createDataFrame(
        [presence_row(JULY, "IN", True), presence_row(JULY, "KE", True), presence_row(AUGUST, "IN", True)],
        PRESENCE_SCHEMA))
    kenya = df.where("country = 'KE' AND period_start = DATE'2017-08-01'").collect()[0].asDict()
    assert kenya == {"period_start": date(2017, 8, 1), "period_end": date(2017, 8, 31), "country": "KE",
                     "activity_ratio": 0.0, "local_domains": 0, "local_days": 0, "local_hosts": 0, "flagged": False,
                     "evidence": "", "bytes": 0,
                     "flows": 0, "hosts": 0, "previously_flagged": True, "change": "dropped"}


def test_a_month_without_data_gets_no_rows(spark):
    result = changes(spark, presence_row(JULY, "IN", True))
    assert list(result) == [(7, "IN")]


CRYPTO_SCHEMA = ("day date, range_name string, internal_ip string, coin string, role string, flows long, "
                 "bytes long, peers long, flows_per_hour double")
LAST_SUMMER = (date(2017, 7, 1), date(2017, 7, 10))
WINTER = (date(2018, 1, 1), date(2018, 1, 5))


def crypto(spark, *rows, tolerance=0.25):
    df = crypto_period_comparison(spark.createDataFrame(list(rows), CRYPTO_SCHEMA), WINTER, LAST_SUMMER, tolerance)
    return {(r.internal_ip, r.coin): r.asDict() for r in df.collect()}


def test_the_same_daily_volume_and_peer_rate_over_periods_of_different_length_is_the_same(spark):
    # Summer: 10 days, 2,400 flows, 10 MB, 40 daily peers in all -> 1 MB/day, 10 flows/h, 4 peers/day.
    # Winter: 5 days, 1,100 flows, 5.5 MB (10% more per day), 19 daily peers (3.8/day, 5% fewer).
    result = crypto(spark,
                    (date(2017, 7, 3), "kp", "175.45.178.20", "bitcoin", "p2p", 2000, 8_000_000, 40, 83.3),
                    (date(2017, 7, 4), "kp", "175.45.178.20", "bitcoin", "pool", 400, 2_000_000, 0, 16.7),
                    (date(2018, 1, 2), "kp", "175.45.178.20", "bitcoin", "p2p", 1100, 5_500_000, 19, 45.8))
    assert result == {("175.45.178.20", "bitcoin"): {
        "range_name": "kp", "internal_ip": "175.45.178.20", "coin": "bitcoin",
        "current_start": WINTER[0], "current_end": WINTER[1], "current_flows": 1100,
        "current_bytes_per_day": 1_100_000.0, "current_flows_per_hour": 9.167, "current_peers_per_day": 3.8,
        "current_pool_flows": 0,
        "previous_start": LAST_SUMMER[0], "previous_end": LAST_SUMMER[1], "previous_flows": 2400,
        "previous_bytes_per_day": 1_000_000.0, "previous_flows_per_hour": 10.0, "previous_peers_per_day": 4.0,
        "previous_pool_flows": 400,
        "first_seen": date(2017, 7, 3), "last_seen": date(2018, 1, 2),
        "volume_change": "same", "peer_rate_change": "same"}}


def test_beyond_the_tolerance_volume_is_higher_or_lower_and_one_sided_hosts_are_new_or_stopped(spark):
    result = crypto(spark,
                    (date(2017, 7, 3), "kp", "175.45.178.20", "bitcoin", "p2p", 100, 10_000_000, 40, 4.2),
                    (date(2018, 1, 2), "kp", "175.45.178.20", "bitcoin", "p2p", 100, 2_000_000, 30, 4.2),
                    (date(2018, 1, 2), "kp", "175.45.178.21", "monero", "pool", 100, 1_000, 1, 4.2),
                    (date(2017, 7, 5), "kp", "175.45.178.22", "bitcoin", "p2p", 100, 1_000, 1, 4.2),
                    # Outside both periods: counts for neither.
                    (date(2017, 12, 31), "kp", "175.45.178.23", "bitcoin", "p2p", 100, 1_000, 1, 4.2))
    verdicts = {key: (row["volume_change"], row["peer_rate_change"]) for key, row in result.items()}
    # .20: 1 MB/day -> 0.4 MB/day is lower; 4 -> 6 peers/day is higher.
    assert verdicts == {("175.45.178.20", "bitcoin"): ("lower", "higher"),
                        ("175.45.178.21", "monero"): ("new", "new"),
                        ("175.45.178.22", "bitcoin"): ("stopped", "stopped")}


def test_tolerance_is_a_parameter(spark):
    rows = [(date(2017, 7, 3), "kp", "175.45.178.20", "bitcoin", "p2p", 100, 10_000_000, 40, 4.2),
            (date(2018, 1, 2), "kp", "175.45.178.20", "bitcoin", "p2p", 100, 7_000_000, 30, 4.2)]
    # 1.4 MB/day against 1 MB/day: 40% more.
    assert crypto(spark, *rows)[("175.45.178.20", "bitcoin")]["volume_change"] == "higher"
    assert crypto(spark, *rows, tolerance=0.5)[("175.45.178.20", "bitcoin")]["volume_change"] == "same"
