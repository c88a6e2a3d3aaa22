"""`flowlake.tables.side_by_side`: independent table work on threads of the driver.

The calls must really overlap (else it saves nothing), and a failing call must not cut
another table's write short: every call runs to its end before the first error is raised.
"""

from __future__ import annotations

import threading

import pytest

from flowlake.tables import side_by_side


def test_results_by_name_from_calls_that_overlap():
    # Each call waits at the barrier until the other arrives: run one after the other, the
    # first would wait alone and the barrier break after its timeout.
    both_running = threading.Barrier(2, timeout=10)

    def table(rows):
        both_running.wait()
        return rows

    assert side_by_side({"flows": lambda: table(3), "dns": lambda: table(5)}) == {"flows": 3, "dns": 5}


def test_a_failing_call_raises_after_the_others_have_finished():
    finished = []
    first_failed = threading.Event()

    def failing():
        first_failed.set()
        raise ValueError("flows: commit refused")

    def slower():
        first_failed.wait(timeout=10)
        finished.append("dns")

    with pytest.raises(ValueError, match="flows: commit refused"):
        side_by_side({"flows": failing, "dns": slower})
    assert finished == ["dns"]
