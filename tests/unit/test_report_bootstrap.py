"""Unit tests for `flowlake.reports.bootstrap` and `flowlake.reports.change_points` on seeded
synthetic hosts-by-days data with a known truth: interval coverage, a planted shift dated
inside its range, no change point on a flat series or across a one-week outage."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flowlake.reports.bootstrap import activity_ratio_intervals, activity_ratios, interval, resampled_shares
from flowlake.reports.change_points import change_penalty, change_weeks, dated_change_points

CATEGORIES = ("chinese_services", "other", "western_social")
START = pd.Timestamp("2017-07-03")  # a Monday


def week_of(days: pd.DatetimeIndex) -> np.ndarray:
    return (days - pd.to_timedelta(days.weekday, unit="D")).strftime("%Y-%m-%d").to_numpy()


def host_days(seed: int, mix_of_day, days: int, hosts: int = 30) -> pd.DataFrame:
    """Bytes per host, day and category: heavy and light hosts (lognormal volume), each with its
    own taste around the population's mix of that day (`mix_of_day(day_index)`, summing to 1;
    tastes average 1, so the population's share is the mix), busy and quiet days."""
    rng = np.random.default_rng(seed)
    volume = rng.lognormal(0, 1, size=(hosts, 1, 1))
    taste = rng.gamma(4, 1 / 4, size=(hosts, 1, len(CATEGORIES)))
    activity = rng.gamma(2, 1 / 2, size=(hosts, days, 1))
    mix = np.array([mix_of_day(d) for d in range(days)])[None, :, :]
    cells = volume * activity * mix * taste * rng.gamma(5, 1 / 5, size=(hosts, days, len(CATEGORIES))) * 1e6
    host, day, category = np.indices(cells.shape).reshape(3, -1)
    # Hosts by number and categories by code: building strings would cost more than the bootstrap.
    return pd.DataFrame({"internal_ip": host, "day": START + pd.to_timedelta(day, unit="D"),
                         "category": pd.Categorical.from_codes(category, CATEGORIES), "bytes": cells.ravel()})


def weekly(rows: pd.DataFrame, seed: int = 21, replicates: int = 200):
    return resampled_shares(rows, "category", "bytes", week_of, replicates, seed)


def test_resampled_shares_estimate_the_plain_shares_and_bracket_them():
    rows = pd.DataFrame([("10.0.0.1", "2017-07-03", "a", 30.0), ("10.0.0.1", "2017-07-03", "b", 10.0),
                         ("10.0.0.2", "2017-07-04", "a", 20.0), ("10.0.0.2", "2017-07-10", "b", 5.0)],
                        columns=["internal_ip", "day", "category", "bytes"])
    shares = resampled_shares(rows, "category", "bytes", week_of, 50, 1)
    table = shares.table("week", "category")
    assert table[["week", "category", "share"]].to_dict("records") == [
        {"week": "2017-07-03", "category": "a", "share": 0.8333}, {"week": "2017-07-03", "category": "b", "share": 0.1667},
        {"week": "2017-07-10", "category": "a", "share": 0.0}, {"week": "2017-07-10", "category": "b", "share": 1.0}]
    assert (table["share_low"] <= table["share"]).all() and (table["share"] <= table["share_high"]).all()
    # seeded: the same rows and seed give the same intervals
    assert resampled_shares(rows, "category", "bytes", week_of, 50, 1).table("week", "category").equals(table)


def test_share_intervals_cover_the_population_share_at_about_their_confidence():
    """200 seeded simulated months, 30 hosts: how often the 95% interval holds the truth."""
    mix = np.array([0.2, 0.5, 0.3])
    covered = []
    for seed in range(200):
        shares = resampled_shares(host_days(seed, lambda d: mix, 28), "category", "bytes",
                                  lambda days: np.zeros(len(days), dtype=int), 200, seed)
        low, high = interval(shares.replicates)
        covered += list((low[0] <= mix) & (mix <= high[0]))
    rate = float(np.mean(covered))
    print(f"share interval coverage: {rate:.3f} over {len(covered)} intervals")
    assert 0.92 <= rate <= 0.995


def test_activity_ratios_are_gold_s_formula_and_their_intervals_hold_them():
    # two countries: CN has 3x the bytes and flows of VN and both hosts, VN one host
    assert np.allclose(activity_ratios(np.array([300.0, 100.0]), np.array([30.0, 10.0]), np.array([2.0, 1.0])),
                       [(1.5 + 1.5 + 4 / 3) / 3, (0.5 + 0.5 + 2 / 3) / 3])
    rows = pd.DataFrame([(f"10.0.0.{h}", f"2017-09-{d:02d}", country, 100.0 * (h + 1), 10.0)
                         for h in range(6) for d in range(1, 11) for country in (("CN", "VN") if h < 2 else ("CN",))],
                        columns=["internal_ip", "day", "country", "bytes", "flows"])
    table = activity_ratio_intervals(rows, 100, 3)
    assert list(table["country"]) == ["CN", "VN"]
    assert (table["ratio_low"] <= table["activity_ratio"]).all()
    assert (table["activity_ratio"] <= table["ratio_high"]).all()
    assert table["activity_ratio"].iloc[0] > 1 > table["activity_ratio"].iloc[1]


COUNTRIES = np.array(["AO", "IN", "KE", "MY", "NZ", "PE"])
VISIT_CHANCE = np.array([0.5, 0.2, 0.1, 0.05, 0.05, 0.02])  # that a host uses a country on a day


def country_days(rng, hosts: int, days: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(used, flows, bytes), hosts x days x countries: each host with its own taste for each
    country, flows and bytes on the days it used one."""
    chance = np.clip(VISIT_CHANCE * rng.gamma(2, 0.5, size=(hosts, 1, len(VISIT_CHANCE))), 0, 1)
    used = rng.random((hosts, days, len(VISIT_CHANCE))) < chance
    flows = used * (rng.poisson(5, size=used.shape) + 1)
    return used, flows, flows * rng.lognormal(8, 1, size=used.shape)


def test_activity_ratio_intervals_cover_the_population_ratio_at_about_their_confidence():
    """60 seeded simulated months of 30 hosts; the truth is the ratio over 5,000 hosts."""
    used, flows, bytes_ = country_days(np.random.default_rng(0), 5_000)
    truth = activity_ratios(bytes_.sum((0, 1)), flows.sum((0, 1)), used.any(axis=1).sum(axis=0).astype(float))
    covered = []
    for seed in range(60):
        used, flows, bytes_ = country_days(np.random.default_rng(seed + 1), 30)
        host, day, country = np.nonzero(flows)
        rows = pd.DataFrame({"internal_ip": host.astype(str), "day": START + pd.to_timedelta(day, unit="D"),
                             "country": COUNTRIES[country], "bytes": bytes_[host, day, country],
                             "flows": flows[host, day, country]})
        table = activity_ratio_intervals(rows, 100, seed)
        covered += list((table["ratio_low"] <= truth) & (truth <= table["ratio_high"]))
    rate = float(np.mean(covered))
    print(f"activity ratio interval coverage: {rate:.3f} over {len(covered)} intervals")
    assert 0.92 <= rate <= 0.995


def shifted_mix(shift_day: int, outage=()):
    """western_social falls from 45% to 10% of bytes on `shift_day`, chinese_services rises;
    during `outage` days the Western platforms are unreachable (a tenth of their traffic)."""
    def mix(d: int):
        western, chinese = (0.45, 0.15) if d < shift_day else (0.10, 0.50)
        if d in outage:
            western /= 10
        return np.array([chinese, 0.40, western]) / (chinese + 0.40 + western)
    return mix


def test_a_planted_shift_is_dated_inside_its_range_of_weeks():
    """A shift planted on a Thursday, in 20 seeded simulations, with a one-week outage before it."""
    for seed in range(20):
        shift_day = 7 * 10 + 3 + seed % 4  # Thursday to Sunday of week 10
        rows = host_days(seed, shifted_mix(shift_day, outage=range(30, 37)), 7 * 20)
        shares = weekly(rows, seed)
        western = list(shares.keys).index("western_social")
        points = dated_change_points(shares.estimate[:, western], shares.replicates[:, :, western])
        assert len(points) == 1, (seed, points)
        point = points[0]
        weeks = pd.DatetimeIndex(pd.to_datetime(shares.periods))
        first, last = weeks[point.first_week], weeks[point.last_week] + pd.Timedelta(days=6)
        assert first <= START + pd.Timedelta(days=shift_day) <= last, (seed, point)
        assert point.before > 0.35 and point.after < 0.2 and point.support > 0.9
        assert point.last_week - point.first_week <= 3


def test_no_change_point_on_a_flat_share_or_across_a_one_week_outage():
    for seed in range(20):
        flat = weekly(host_days(seed, shifted_mix(10_000), 7 * 20), seed, replicates=20)
        # A seven-day outage from a Wednesday: it straddles two ISO weeks.
        outage = weekly(host_days(seed, shifted_mix(10_000, outage=range(7 * 8 + 2, 7 * 9 + 2)), 7 * 20),
                        seed, replicates=20)
        for shares in (flat, outage):
            for k in range(len(CATEGORIES)):
                assert dated_change_points(shares.estimate[:, k], shares.replicates[:, :, k]) == [], (seed, k)


def test_pure_noise_series_give_no_change_point():
    """1,000 seeded weekly series of white noise around 30%: how often a change is called."""
    rng = np.random.default_rng(0)
    series = 0.3 + rng.normal(0, 0.03, size=(1000, 26))
    false_alarms = sum(bool(change_weeks(s, change_penalty(s))) for s in series)
    print(f"false change points on noise: {false_alarms}/1000")
    assert false_alarms <= 5
