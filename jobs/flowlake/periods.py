"""The calendar: months, report windows and which report periods a run makes due.

Pure functions of dates (no clock, no I/O), shared by gold, the reports job and the
flowlake_reports DAG (which imports this module when a task runs, never at parse time).

Months. `month_bounds(day)` is the first and last day of `day`'s month; gold refreshes whole
months of overseas presence (`months_to_refresh`), and the reports compare whole months.

Report windows. `report_window(name, as_of, settings)`: every report ends on `as_of` (inclusive).
- trend: the `trend_months` calendar months ending with as_of's month;
- overseas: as_of's calendar month, compared with the month before (gold's monthly presence);
- crypto: as_of's calendar month up to as_of, compared with the whole month
  `crypto_compare_months_back` before (its figures are per day, so the lengths may differ).
The window's `label` (`<start>_<end>`) is the report's key under reports_uri.

Due reports. The flowlake_reports DAG asks `due_reports` for every run: a run covers a window of
days (from the gold Asset events that triggered it, from its own data interval on the calendar,
or from the days a person gives it), and each report is rendered for the newest of its periods
that ends inside the window. trend and overseas are monthly (due on a calendar month's last
day); crypto is weekly (due every Sunday, month to date, and on the month's last day, so each
whole month is rendered too): the reports job reads `--as-of` as the last day a report covers.
A six-month backfill therefore delivers each report once, for its newest complete period,
rather than one mail per month and week gone by; an older period is rendered by giving a
window that ends in it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flowlake.config import ReportSettings

REPORT_NAMES = ("trend", "overseas", "crypto")
CADENCE = {"trend": "monthly", "overseas": "monthly", "crypto": "weekly"}


def month_bounds(day: date) -> tuple[date, date]:
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def months_to_refresh(days: set[date]) -> list[tuple[date, date]]:
    """The months holding changed days, and the month after each: its comparison looks back."""
    months = {month_bounds(d) for d in days}
    return sorted(months | {month_bounds(end + timedelta(days=1)) for _, end in months})


@dataclass(frozen=True)
class ReportWindow:
    name: str
    start: date
    end: date
    previous_start: date | None = None
    previous_end: date | None = None

    @property
    def label(self) -> str:
        return f"{self.start}_{self.end}"


def months_before(day: date, months: int) -> date:
    """The first day of the month `months` before `day`'s month."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def report_window(name: str, as_of: date, settings: ReportSettings) -> ReportWindow:
    if name not in REPORT_NAMES:
        raise ValueError(f"unknown report {name!r}; reports are {', '.join(REPORT_NAMES)}")
    if name == "trend":
        return ReportWindow(name, months_before(as_of, settings.trend_months - 1), as_of)
    back = 1 if name == "overseas" else settings.crypto_compare_months_back
    previous_start = months_before(as_of, back)
    return ReportWindow(name, as_of.replace(day=1), as_of, *month_bounds(previous_start))


def window_days(start: datetime, end: datetime) -> tuple[date, date] | None:
    """The whole days of a data interval [start, end): None when it holds no whole day.

    A daily interval [2017-07-01T00:00, 2017-07-02T00:00) covers 2017-07-01 alone, and so does
    [2017-07-01T06:00, 2017-07-02T06:00) (a run at 06:00 reports on the day before).
    """
    first, last = start.date(), end.date() - timedelta(days=1)
    return (first, last) if last >= first else None


def run_window(start: datetime | None, end: datetime | None, run_after: datetime) -> tuple[date, date] | None:
    """The days an Airflow run covers: its data interval's whole days, or, for a run triggered
    without a logical date (hence without a data interval), the day before it ran."""
    if start is None or end is None:
        day = run_after.date() - timedelta(days=1)
        return day, day
    return window_days(start, end)


def events_window(extras: list[dict]) -> tuple[date, date] | None:
    """The days the gold Asset events covered, from their extras {"first_day", "last_day"}."""
    spans = [(date.fromisoformat(e["first_day"]), date.fromisoformat(e["last_day"]))
             for e in extras if e and e.get("first_day") and e.get("last_day")]
    if not spans:
        return None
    return min(s for s, _ in spans), max(e for _, e in spans)


def last_period_end(cadence: str, first: date, last: date) -> date | None:
    """The last day of the newest period of `cadence` that ends within [first, last]."""
    if cadence == "monthly":
        # The day before the first of the month after `last`, or before the first of `last`'s own month.
        following = (last.replace(day=1) + timedelta(days=32)).replace(day=1)
        end = following - timedelta(days=1)
        if end > last:
            end = last.replace(day=1) - timedelta(days=1)
    elif cadence == "weekly":
        sunday = last - timedelta(days=(last.isoweekday() % 7))  # the Sunday on or before `last`
        month_end = last_period_end("monthly", first, last)
        end = max(sunday, month_end) if month_end else sunday
    else:
        raise ValueError(f"unknown report cadence {cadence!r}; known: monthly, weekly")
    return end if end >= first else None


def due_reports(first: date, last: date) -> dict[str, date | None]:
    """For each report, the as-of day to render it for in the window [first, last], or None."""
    return {name: last_period_end(cadence, first, last) for name, cadence in CADENCE.items()}
