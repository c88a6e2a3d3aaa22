"""A stage that meets another run's Delta commit starts over, and stops cleanly if it keeps meeting them."""

from __future__ import annotations

from datetime import datetime, timezone
from io import StringIO

import pytest
from delta.exceptions import ConcurrentAppendException, MetadataChangedException

from flowlake.runner import CONFLICT_ATTEMPTS, ConcurrentRunConflict, run_stage
from flowlake.progress import Progress

RUN_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)


def stage_failing(times: int, error: Exception):
    calls = []

    def run(spark, config, run_time, progress):
        calls.append(run_time)
        if len(calls) <= times:
            raise error
        return "done"
    return run, calls


def test_a_stage_conflicting_with_another_run_starts_over_and_finishes():
    said = StringIO()
    run, calls = stage_failing(1, ConcurrentAppendException(message="Files were added to partition [day=2017-07-01]"))
    assert run_stage(run, "silver", None, None, RUN_TIME, Progress("run", stream=said)) == "done"
    assert calls == [RUN_TIME, RUN_TIME]
    assert ("silver: another run committed to the same table (ConcurrentAppendException: Files were added to "
            "partition [day=2017-07-01]); starting the stage again, attempt 2 of 3") in said.getvalue()


def test_a_stage_that_keeps_conflicting_stops_with_a_message_for_people():
    run, calls = stage_failing(CONFLICT_ATTEMPTS, MetadataChangedException(message="The metadata was changed"))
    with pytest.raises(ConcurrentRunConflict, match=r"gold: another run committed to the same tables 3 times .*"
                                                     r"MetadataChangedException.*run again once the other run"):
        run_stage(run, "gold", None, None, RUN_TIME, Progress("run", stream=StringIO()))
    assert len(calls) == CONFLICT_ATTEMPTS


def test_other_errors_are_not_retried():
    run, calls = stage_failing(1, ValueError("a bug"))
    with pytest.raises(ValueError):
        run_stage(run, "bronze", None, None, RUN_TIME, Progress("run", stream=StringIO()))
    assert len(calls) == 1
