"""Bad input at scale through the bronze job on Spark: hypothesis draws a raw folder holding
one object of every supported format (random and adversarial lines mixed, some gzipped, plus a
truncated gzip), bronze ingests it, and every line must be accounted for in the Delta tables.

Per object: the good lines are in bronze.flows or bronze.dns with their values; every bad line
is in bronze.quarantine with its object, line number, raw text and reason; the manifest counts
the control lines; lines in = lines landed + lines quarantined + control lines. The run never
fails (max_quarantine_rate 1.0 here; the gate itself is tested in test_bronze_ingest.py).
tests/unit/test_readers_bad_input.py runs the same strategies on the readers alone, with
many more examples.

  .venv/bin/python -m pytest tests/integration/test_bad_input.py
  FLOWLAKE_HYPOTHESIS_EXAMPLES=300 .venv/bin/python -m pytest tests/integration/test_bad_input.py  # 10 examples
"""

from __future__ import annotations

import gzip
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from flowlake.bronze.ingest import run_bronze
from flowlake.config import load_config
from flowlake.progress import Progress
from tests.conftest import write_config
from tests.raw_lines import EXAMPLES, FORMATS, content, dump

pytestmark = [pytest.mark.integration, pytest.mark.faults]  # make faults runs it; 3 minutes of Spark
RUN_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)
FLOW_KEYS = ("line_number", "ts", "ts_end", "src_ip", "dst_ip", "src_port", "dst_port", "protocol", "bytes", "packets")
DNS_KEYS = ("line_number", "rrname", "rrtype", "rdata", "time_first", "time_last", "count")


def utc(value):
    """Spark hands timestamps back as naive UTC (the session time zone): compare them so."""
    return value.astimezone(timezone.utc).replace(tzinfo=None) if isinstance(value, datetime) else value


def table_rows(spark, config, table: str) -> list[dict]:
    return [r.asDict() for r in spark.read.format("delta").load(config.table_uri("bronze", table)).collect()]


# No shrinking: each step would be a Spark run; a failure shows the object as drawn instead.
@settings(max_examples=max(2, (EXAMPLES or 0) // 30), deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(data=st.data())
def test_every_line_of_every_format_lands_or_is_quarantined_or_counted(spark, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("bad-input")
    objects = {}
    for name, fmt in sorted(FORMATS.items()):
        lines = data.draw(dump(fmt, max_entries=12), label=name)
        gzipped = data.draw(st.booleans(), label=f"{name} gzipped")
        key = f"flows/{name}/2017-07-01.{'json' if fmt.delimited is None else 'txt'}{'.gz' if gzipped else ''}"
        path = folder / "raw" / key
        path.parent.mkdir(parents=True)
        path.write_bytes(gzip.compress(content(lines)) if gzipped else content(lines))
        objects[f"file:{path}"] = (fmt, lines)
    truncated = folder / "raw" / "flows" / "truncated.csv.gz"
    truncated.write_bytes(gzip.compress(content(lines))[:-9])
    config = load_config(write_config(folder, bronze={"max_quarantine_rate": 1.0}))

    result = run_bronze(spark, config, RUN_TIME, Progress("test"))

    assert (result.objects_new, result.unreadable) == (len(objects) + 1, 1)
    landed, quarantined = {}, {}
    for table, keys in (("flows", FLOW_KEYS), ("dns", DNS_KEYS)):
        for row in table_rows(spark, config, table):
            landed.setdefault((row["source_object"], row["line_number"]), []).append(
                {key: utc(row[key]) for key in keys})
    for row in table_rows(spark, config, "quarantine"):
        assert (row["source_object"], row["line_number"]) not in quarantined, "a line quarantined twice"
        quarantined[(row["source_object"], row["line_number"])] = row
    manifest = {row["source_object"]: row for row in table_rows(spark, config, "ingested_files")}

    for source_object, (fmt, lines) in objects.items():
        keys = FLOW_KEYS if fmt.flows else DNS_KEYS
        for number, line in enumerate(lines, start=1):
            where = (source_object, number)
            if line.fate == "land":
                assert landed.get(where) == [{key: utc(row[key]) for key in keys} for row in line.rows], \
                    (where, line.data[:200], quarantined.get(where))
            elif line.fate == "quarantine":
                row = quarantined.get(where)
                assert row is not None, (where, line.data[:200], landed.get(where))
                assert row["raw_line"] == line.raw_text and row["reason"].startswith(line.reason or ""), row["reason"]
                assert row["reason"]
            else:
                assert where not in landed and where not in quarantined
        fates = [line.fate for line in lines]
        entry = manifest[source_object]
        assert entry["control_lines"] == fates.count("control")
        assert entry["quarantined_rows"] == fates.count("quarantine")
        landed_lines = sum(1 for (obj, _) in landed if obj == source_object)
        assert landed_lines == fates.count("land")
        assert landed_lines + entry["quarantined_rows"] + entry["control_lines"] == len(lines)

    whole = quarantined[(f"file:{truncated}", None)]
    assert whole["reason"].startswith("unreadable object: truncated gzip") and whole["raw_line"] is None
    assert result.quarantined_rows == len(quarantined)
