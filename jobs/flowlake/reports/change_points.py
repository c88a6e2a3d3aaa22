"""Change points in a weekly share, each dated with a range of weeks and a bootstrap support.

Pure functions on numpy arrays (tested by `tests/unit/test_report_bootstrap.py`); the
trend report calls `dated_change_points` on each category's weekly share of bytes, with the
bootstrap replicates of `flowlake.reports.bootstrap`.

A shift is a change of level that lasts. Four choices make it so:
- the series is first smoothed with a running median over `2 * MAX_EXCURSION_WEEKS + 1` weeks
  (mirrored at the ends): a dip or spike of up to two weeks vanishes (a one-week outage or
  holiday can straddle two ISO weeks), while a step keeps its place and height;
- ruptures finds the segmentation of least squared error under a penalty of
  `PENALTY_FACTOR * sigma^2 * log(weeks)` per change (BIC-like), sigma being the week-to-week
  noise of the unsmoothed series (the median absolute first difference, scaled to a normal's
  standard deviation, at least `SIGMA_FLOOR`): on a flat series no change pays for itself.
  `KernelCPD` with the linear kernel has the same cost and optimum as `Pelt(model="l2")`
  (checked on 300 random series) in compiled code, some hundred times faster;
- breaks fewer than `MIN_WEEKS` apart that move the same way are one change (the week a
  change happened in sits between the two levels);
- a change that moves the level by less than `MIN_SHIFT` (two points of share) is dropped.

The date range: each found change is located again in every bootstrap replicate of the
weekly shares (hosts and days resampled), as the best single break between its neighbours
(the number of changes held at the estimate, as in Hušková and Kirch's bootstrap intervals
for a change's location); the range spans the central `CONFIDENCE` of those locations, widened
by one week before, since a change found at week k may have happened inside week k - 1 (a
week partly before and partly after a change sits on whichever side it resembles more).
`support` is the share of replicates in which the change still pays its penalty; a change
that fewer than `MIN_SUPPORT` of them confirm is not reported (one heavy host's busy weeks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import ruptures
from scipy.ndimage import median_filter

MAX_EXCURSION_WEEKS = 2
MIN_WEEKS = 3
PENALTY_FACTOR = 8.0
SIGMA_FLOOR = 0.002
MIN_SHIFT = 0.02
CONFIDENCE = 0.95
MIN_SUPPORT = 0.9


@dataclass(frozen=True)
class ChangePoint:
    """A change at `week` (the first week of the new level; indexes into the series), which
    happened between the start of week `first_week` and the end of week `last_week`."""

    week: int
    first_week: int
    last_week: int
    before: float  # mean share of the segment before, and after
    after: float
    support: float


def smoothed(series: np.ndarray) -> np.ndarray:
    """The running median along the last axis (weeks), so a short excursion is not a shift."""
    width = 2 * MAX_EXCURSION_WEEKS + 1
    size = (1,) * (series.ndim - 1) + (width,)
    return median_filter(series, size=size, mode="mirror") if series.shape[-1] >= width else series


def change_penalty(series: np.ndarray) -> float:
    """What one more change must save in squared error: PENALTY_FACTOR sigma^2 log(n)."""
    steps = np.abs(np.diff(series))
    # The median absolute difference of two independent normals is 0.6745 * sqrt(2) sigma.
    sigma = max(float(np.median(steps)) / (0.6745 * np.sqrt(2)) if len(steps) else 0.0, SIGMA_FLOOR)
    return PENALTY_FACTOR * sigma ** 2 * np.log(max(len(series), 2))


def _levels(level: np.ndarray, breaks: list[int]) -> list[float]:
    edges = [0, *breaks, len(level)]
    return [float(level[a:b].mean()) for a, b in zip(edges, edges[1:])]


def change_weeks(series: np.ndarray, penalty: float) -> list[tuple[int, int]]:
    """The lasting changes, in order, as (first, last) weeks of the new level's arrival: a
    change inside a week makes that week a level of its own between the old and the new, so
    breaks fewer than MIN_WEEKS apart that move the same way are one change; none on a series
    without a lasting change."""
    level = smoothed(np.asarray(series, dtype=float))
    if len(level) < 2 * MIN_WEEKS:
        return []
    breaks = [int(b) for b in ruptures.KernelCPD(kernel="linear", min_size=1).fit(level).predict(pen=penalty)[:-1]]
    changes: list[list[int]] = []
    for week, move in zip(breaks, np.diff(_levels(level, breaks))):
        if changes and week - changes[-1][-1] < MIN_WEEKS and np.sign(move) == changes[-1][0]:
            changes[-1].append(week)
        else:
            changes.append([int(np.sign(move)), week])
    spans = [(weeks[1], weeks[-1]) for weeks in changes]
    # Drop the smallest change under MIN_SHIFT until every one left moves the level enough.
    while spans:
        moves = [abs(after - before) for before, after in _spans_levels(level, spans)]
        if min(moves) >= MIN_SHIFT:
            break
        del spans[int(np.argmin(moves))]
    return spans


def _spans_levels(level: np.ndarray, spans: list[tuple[int, int]]) -> list[tuple[float, float]]:
    """(mean before, mean after) of each change: from the previous change's end to its first
    week, and from its last week to the next change's start."""
    edges = [(0, 0), *spans, (len(level), len(level))]
    return [(float(level[edges[i][1]:edges[i + 1][0]].mean()), float(level[edges[i + 1][1]:edges[i + 2][0]].mean()))
            for i in range(len(spans))]


def best_breaks(replicates: np.ndarray, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Per replicate (rows), the least-squares single break in columns [start, end), and the
    squared error it saves over no break."""
    segment = replicates[:, start:end]
    n = segment.shape[1]
    sums, squares = np.cumsum(segment, axis=1), np.cumsum(segment ** 2, axis=1)
    total = squares[:, -1] - sums[:, -1] ** 2 / n
    splits = np.arange(1, n)
    left = squares[:, splits - 1] - sums[:, splits - 1] ** 2 / splits
    right = (squares[:, -1:] - squares[:, splits - 1]) - (sums[:, -1:] - sums[:, splits - 1]) ** 2 / (n - splits)
    cost = left + right
    return start + splits[cost.argmin(axis=1)], total - cost.min(axis=1)


def _dated(level: np.ndarray, resampled: np.ndarray, spans: list[tuple[int, int]],
           penalty: float) -> list[ChangePoint]:
    edges = [(0, 0), *spans, (len(level), len(level))]
    found = []
    for (first, last), (before, after), previous, following in zip(spans, _spans_levels(level, spans), edges,
                                                                    edges[2:]):
        located, saved = best_breaks(resampled, previous[1], following[0])
        tail = (1 - CONFIDENCE) / 2
        low, high = np.quantile(located, [tail, 1 - tail], method="inverted_cdf")
        found.append(ChangePoint(first, max(int(min(low, first)) - 1, 0), int(max(high, last)), before, after,
                                 float(np.mean(saved > penalty))))
    return found


def dated_change_points(series: np.ndarray, replicates: np.ndarray) -> list[ChangePoint]:
    """The lasting changes of `series` (weekly shares) that at least MIN_SUPPORT of the
    bootstrap `replicates` (one row per replicate, same weeks) confirm, each with its range."""
    series = np.asarray(series, dtype=float)
    penalty = change_penalty(series)
    level, resampled = smoothed(series), smoothed(np.asarray(replicates, dtype=float))
    spans = change_weeks(series, penalty)
    found = _dated(level, resampled, spans, penalty)
    confirmed = [span for span, point in zip(spans, found) if point.support >= MIN_SUPPORT]
    # Without the unconfirmed ones, the confirmed changes' levels and neighbours are wider.
    return found if len(confirmed) == len(spans) else _dated(level, resampled, confirmed, penalty)
