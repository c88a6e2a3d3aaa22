"""The report calendar: the newest period of each report that ends inside a window of days."""

from datetime import date, datetime, timezone

import pytest

from flowlake.periods import due_reports, events_window, last_period_end, run_window, window_days


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize("start, end, expected", [
    (utc(2017, 7, 1), utc(2017, 7, 2), (date(2017, 7, 1), date(2017, 7, 1))),
    (utc(2017, 7, 1, 6), utc(2017, 7, 2, 6), (date(2017, 7, 1), date(2017, 7, 1))),
    (utc(2017, 7, 1), utc(2018, 1, 1), (date(2017, 7, 1), date(2017, 12, 31))),
    (utc(2017, 7, 1, 6), utc(2017, 7, 1, 6), None),
])
def test_window_days_are_the_whole_days_of_the_data_interval(start, end, expected):
    assert window_days(start, end) == expected


def test_a_month_is_due_on_its_last_day_and_crypto_on_sundays_and_month_ends():
    assert due_reports(date(2017, 7, 31), date(2017, 7, 31)) == {
        "trend": date(2017, 7, 31), "overseas": date(2017, 7, 31), "crypto": date(2017, 7, 31)}  # a Monday
    assert due_reports(date(2017, 7, 30), date(2017, 7, 30)) == {
        "trend": None, "overseas": None, "crypto": date(2017, 7, 30)}  # a Sunday
    assert due_reports(date(2017, 7, 12), date(2017, 7, 14)) == {"trend": None, "overseas": None, "crypto": None}


def test_a_six_month_backfill_renders_each_report_once_for_its_newest_complete_period():
    assert due_reports(date(2017, 7, 1), date(2017, 12, 31)) == {
        "trend": date(2017, 12, 31), "overseas": date(2017, 12, 31), "crypto": date(2017, 12, 31)}
    # Ending mid-month: the month before is the newest complete one.
    assert last_period_end("monthly", date(2017, 7, 1), date(2017, 12, 20)) == date(2017, 11, 30)
    assert last_period_end("monthly", date(2017, 2, 1), date(2017, 2, 28)) == date(2017, 2, 28)
    assert last_period_end("monthly", date(2016, 2, 1), date(2016, 2, 28)) is None  # leap year
    assert last_period_end("weekly", date(2017, 12, 1), date(2017, 12, 20)) == date(2017, 12, 17)
    assert last_period_end("weekly", date(2017, 7, 29), date(2017, 7, 31)) == date(2017, 7, 31)
    assert last_period_end("weekly", date(2017, 7, 29), date(2017, 7, 30)) == date(2017, 7, 30)
    assert last_period_end("weekly", date(2017, 7, 31), date(2017, 8, 5)) == date(2017, 7, 31)


def test_the_gold_events_window_spans_every_event_and_ignores_events_without_days():
    extras = [{"first_day": "2017-07-03", "last_day": "2017-07-03"}, {},
              {"first_day": "2017-07-01", "last_day": "2017-07-02"}]
    assert events_window(extras) == (date(2017, 7, 1), date(2017, 7, 3))
    assert events_window([{}, {"other": 1}]) is None


def test_an_unknown_cadence_is_refused():
    with pytest.raises(ValueError, match="daily"):
        last_period_end("daily", date(2017, 7, 1), date(2017, 7, 2))


def test_a_run_without_a_data_interval_covers_the_day_before_it_ran():
    assert run_window(None, None, utc(2017, 8, 1, 9)) == (date(2017, 7, 31), date(2017, 7, 31))
    assert run_window(utc(2017, 7, 1), utc(2017, 7, 3), utc(2026, 1, 1)) == (date(2017, 7, 1), date(2017, 7, 2))
