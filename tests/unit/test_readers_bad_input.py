"""Property-based tests of the raw-format readers (flowlake.readers) on random and adversarial
dumps: hypothesis draws whole objects of every supported format, good and bad lines mixed
(tests/raw_lines.py says which are which), and every line must end where it belongs.

For every drawn object: parsing never raises; every good line lands once with the values it
was written with; every bad line is quarantined with its line number, its raw text and a
reason naming what is wrong; every header, blank, trailer and NODATA line is counted as a
control line; and lines in = lines landed + lines quarantined + control lines.

  .venv/bin/python -m pytest tests/unit/test_readers_bad_input.py
  FLOWLAKE_HYPOTHESIS_EXAMPLES=2000 .venv/bin/python -m pytest tests/unit/test_readers_bad_input.py
"""

from __future__ import annotations

import gzip

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from flowlake.config import Source
from flowlake.readers.objects import parse_object
from tests.conftest import ROOT
from tests.raw_lines import CONFIG_SAMPLING_RATE, EXAMPLES, FORMATS, OBJECT_EXPORTER, content, dump

PROPERTY = settings(
    max_examples=EXAMPLES or 30, deadline=None,
    # Multi-megabyte lines make some examples slow and large by design.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    database=DirectoryBasedExampleDatabase(ROOT / ".run" / "hypothesis"))


def parsed_lines(lines, fmt_name: str, gzipped: bool):
    data = content(lines)
    source = Source(prefix="", format="auto", sampling_rate=CONFIG_SAMPLING_RATE)
    return parse_object(f"raw/{fmt_name}/object", gzip.compress(data) if gzipped else data, source, OBJECT_EXPORTER)


def assert_every_line_accounted_for(lines, parsed, record_table):
    landed = {}
    for row in record_table.to_pylist():
        landed.setdefault(row["line_number"], []).append(row)
    quarantined = {row["line_number"]: row for row in parsed.quarantine.to_pylist()}
    assert parsed.quarantine.num_rows == len(quarantined), "a line quarantined twice"

    for number, line in enumerate(lines, start=1):
        if line.fate == "land":
            expected = list(line.rows)
            got = [{key: row[key] for key in expected[0]} for row in landed.get(number, [])]
            assert got == expected, f"line {number} {line.data[:200]!r}: {quarantined.get(number)}"
        elif line.fate == "quarantine":
            row = quarantined.get(number)
            assert row is not None, f"line {number} {line.data[:200]!r} landed: {landed.get(number)}"
            assert row["raw_line"] == line.raw_text
            assert row["reason"] and row["reason"].startswith(line.reason), (row["reason"], line.reason)
    fates = [line.fate for line in lines]
    assert set(landed) == {n for n, fate in enumerate(fates, start=1) if fate == "land"}
    assert set(quarantined) == {n for n, fate in enumerate(fates, start=1) if fate == "quarantine"}
    assert parsed.control_lines == fates.count("control")
    assert len(landed) + len(quarantined) + parsed.control_lines == len(lines)


@pytest.mark.parametrize("fmt_name", sorted(FORMATS))
@PROPERTY
@given(data=st.data(), gzipped=st.booleans())
def test_every_line_lands_or_is_quarantined_with_a_reason_or_is_a_control_line(fmt_name, data, gzipped):
    fmt = FORMATS[fmt_name]
    lines = data.draw(dump(fmt))
    parsed = parsed_lines(lines, fmt_name, gzipped)
    assert parsed.format == fmt.name
    assert_every_line_accounted_for(lines, parsed, parsed.flows if fmt.flows else parsed.dns)
