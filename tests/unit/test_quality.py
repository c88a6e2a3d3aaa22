"""Unit tests for flowlake.quality: every table's suite is one Great Expectations accepts."""

from __future__ import annotations

import pytest

from flowlake.quality import expectation_suite, suite_path
from tests.conftest import ROOT

TABLES = sorted(p.stem.replace("_", ".", 1) for p in (ROOT / "expectations").glob("*.json"))


@pytest.mark.parametrize("table", TABLES)
def test_every_suite_loads_with_known_expectation_types(table):
    import great_expectations as gx

    assert suite_path(table).exists()
    suite = expectation_suite(gx.get_context(mode="ephemeral"), table)
    assert suite.name == table and len(suite.expectations) > 0
