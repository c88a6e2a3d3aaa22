"""Which days a report covers, and the period it is compared with.

`report_window(name, as_of, settings)`: every report ends on `as_of` (inclusive).
- trend: the `trend_months` calendar months ending with as_of's month;
- overseas: as_of's calendar month, compared with the month before (gold's monthly presence);
- crypto: as_of's calendar month up to as_of, compared with the whole month
  `crypto_compare_months_back` before (its figures are per day, so the lengths may differ).
The window's `label` (`<start>_<end>`) is the report's key under reports_uri.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flowlake.config import ReportSettings
from flowlake.gold.build import month_bounds

REPORT_NAMES = ("trend", "overseas", "crypto")


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
