"""The report calendar: which report periods a window of days makes due, and as of which day.

The flowlake_reports DAG asks this for every run: a run covers a window of days (from the gold
Asset events that triggered it, from its own data interval on the calendar, or from the days a
person gives it), and each report is rendered for the newest of its periods that ends inside the
window. trend and overseas are monthly (due on a calendar month's last day); crypto is weekly
(due every Sunday, month to date, and on the month's last day, so each whole month is rendered
too): the reports job reads `--as-of` as the last day a report covers. A six-month backfill therefore delivers each report once, for its newest complete
period, rather than one mail per month and week gone by; an older period is rendered by giving
a window that ends in it.

Pure functions of dates: no clock, no I/O.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

CADENCE = {"trend": "monthly", "overseas": "monthly", "crypto": "weekly"}


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
