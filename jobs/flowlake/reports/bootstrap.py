"""Bootstrap intervals over hosts and days for the reports' shares and activity ratios.

Pure functions, pandas rows in, numpy and pandas out (tested by
`tests/unit/test_report_bootstrap.py`); the trend and overseas reports call them on small
per-host, per-day aggregates of silver.

A share measures what some hosts did on some days; other hosts, or other days of the same
weeks, would have given another figure. Each replicate draws the hosts with replacement and,
within each period (a week or a month), that period's days with replacement, and weights every
(host, day) cell by how often its host times how often its day was drawn: the two-way
("pigeonhole", Owen 2007) bootstrap, which for crossed hosts-by-days data errs on the wide
side. The interval is the central `CONFIDENCE` of the replicates (percentile method). The
generator is seeded (`reports.bootstrap_seed`), so a report rendered again from the same
tables prints the same intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Cube:
    """`values[h, d, k]`: the sum of a measure for host `hosts[h]`, day `days[d]`, key `keys[k]`."""

    hosts: pd.Index
    days: pd.DatetimeIndex
    keys: pd.Index
    values: np.ndarray


def cube(rows: pd.DataFrame, key: str, value: str) -> Cube:
    """Rows with internal_ip, day, `key` and `value` as a dense hosts x days x keys array."""
    host_index, hosts = pd.factorize(rows["internal_ip"], sort=True)
    day_index, days = pd.factorize(pd.to_datetime(rows["day"]), sort=True)
    key_index, keys = pd.factorize(rows[key], sort=True)
    cell = (host_index * len(days) + day_index) * len(keys) + key_index
    values = np.bincount(cell, weights=rows[value].to_numpy(dtype=float), minlength=len(hosts) * len(days) * len(keys))
    values = values.reshape(len(hosts), len(days), len(keys))
    return Cube(hosts, days, keys, values)


def resampling_weights(hosts: int, day_periods: np.ndarray, replicates: int,
                       seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(replicates x hosts, replicates x days): how often each host, and each day within its
    period, was drawn in each replicate."""
    rng = np.random.default_rng(seed)
    host_weights = rng.multinomial(hosts, np.full(hosts, 1 / hosts), size=replicates).astype(float)
    day_weights = np.zeros((replicates, len(day_periods)))
    for period in np.unique(day_periods):
        columns = np.flatnonzero(day_periods == period)
        day_weights[:, columns] = rng.multinomial(len(columns), np.full(len(columns), 1 / len(columns)),
                                                  size=replicates)
    return host_weights, day_weights


def period_totals(values: np.ndarray, host_weights: np.ndarray, day_weights: np.ndarray,
                  day_periods: np.ndarray, periods: int) -> np.ndarray:
    """replicates x periods x keys: the weighted sums of `values` (hosts x days x keys)."""
    per_day = np.einsum("bh,hdk->bdk", host_weights, values) * day_weights[:, :, None]
    return np.einsum("bdk,dp->bpk", per_day, np.eye(periods)[day_periods])


def interval(replicates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The percentile interval along the first axis."""
    tail = (1 - CONFIDENCE) / 2
    return np.quantile(replicates, tail, axis=0), np.quantile(replicates, 1 - tail, axis=0)


def _shares(totals: np.ndarray) -> np.ndarray:
    sums = totals.sum(axis=-1, keepdims=True)
    return np.divide(totals, sums, out=np.zeros_like(totals), where=sums > 0)


@dataclass(frozen=True)
class ResampledShares:
    """Each key's share of a period's total: the estimate (periods x keys), its bootstrap
    replicates (replicates x periods x keys), and how many days of data each period holds."""

    periods: np.ndarray
    keys: np.ndarray
    estimate: np.ndarray
    replicates: np.ndarray
    days: np.ndarray

    def table(self, period: str, key: str) -> pd.DataFrame:
        """One row per period and key: share, share_low, share_high."""
        low, high = interval(self.replicates)
        index = pd.MultiIndex.from_product([self.periods, self.keys], names=[period, key])
        return pd.DataFrame({"share": self.estimate.ravel(), "share_low": low.ravel(), "share_high": high.ravel()},
                            index=index).round(4).reset_index()


def resampled_shares(rows: pd.DataFrame, key: str, value: str, period_of_day, replicates: int,
                     seed: int) -> ResampledShares:
    """Each `key`'s share of `value` per period, hosts and days resampled. `period_of_day` maps
    a pandas DatetimeIndex of days to their period labels (the days of a period are resampled
    among themselves)."""
    data = cube(rows, key, value)
    periods, day_periods = np.unique(np.asarray(period_of_day(pd.DatetimeIndex(data.days))), return_inverse=True)
    host_weights, day_weights = resampling_weights(len(data.hosts), day_periods, replicates, seed)
    ones = (np.ones((1, len(data.hosts))), np.ones((1, len(data.days))))
    estimate = _shares(period_totals(data.values, *ones, day_periods, len(periods)))[0]
    resampled = _shares(period_totals(data.values, host_weights, day_weights, day_periods, len(periods)))
    return ResampledShares(periods, data.keys.to_numpy(), estimate, resampled, np.bincount(day_periods, minlength=len(periods)))


def activity_ratios(bytes_: np.ndarray, flows: np.ndarray, hosts: np.ndarray) -> np.ndarray:
    """gold.overseas_presence's activity ratio, along the last axis (countries): the mean over
    bytes, flows and hosts of a country's value over the mean of the countries with activity."""
    active = (flows > 0) | (bytes_ > 0) | (hosts > 0)
    count = np.maximum(active.sum(axis=-1, keepdims=True), 1)
    ratio_sum = np.zeros(np.shape(flows))
    for metric in (bytes_, flows, hosts):
        mean = metric.sum(axis=-1, keepdims=True) / count
        ratio_sum += metric / np.where(mean > 0, mean, 1)
    return np.where(active, ratio_sum / 3, 0.0)


def activity_ratio_intervals(rows: pd.DataFrame, replicates: int, seed: int) -> pd.DataFrame:
    """Per country: activity_ratio (all hosts and days) and its interval, hosts and the
    period's days resampled. Rows: internal_ip, day, country, bytes, flows of the activity
    gold's presence rule counts (`flowlake.gold.aggregates.presence_activity`)."""
    columns = ["country", "activity_ratio", "ratio_low", "ratio_high"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    by_bytes, by_flows = cube(rows, "country", "bytes"), cube(rows, "country", "flows")
    one_period = np.zeros(len(by_bytes.days), dtype=int)
    host_weights, day_weights = resampling_weights(len(by_bytes.hosts), one_period, replicates, seed)
    used = (by_flows.values > 0) | (by_bytes.values > 0)

    def ratios(host_w: np.ndarray, day_w: np.ndarray) -> np.ndarray:
        # A host counts once per copy drawn if it used the country on any day drawn.
        hosts = np.einsum("bh,bhk->bk", host_w, np.einsum("bd,hdk->bhk", (day_w > 0).astype(float), used) > 0)
        return activity_ratios(period_totals(by_bytes.values, host_w, day_w, one_period, 1)[:, 0],
                               period_totals(by_flows.values, host_w, day_w, one_period, 1)[:, 0], hosts)

    estimate = ratios(np.ones((1, len(by_bytes.hosts))), np.ones((1, len(by_bytes.days))))[0]
    low, high = interval(ratios(host_weights, day_weights))
    return pd.DataFrame({"country": by_bytes.keys, "activity_ratio": estimate, "ratio_low": low,
                         "ratio_high": high}).round(4)[columns]
