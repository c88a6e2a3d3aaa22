"""Great Expectations gates: one suite per table under expectations/, run before a publish.

`check_table(df, "bronze.flows", rows, driver_max_rows)` validates a DataFrame of `rows` rows
with the suite in `expectations/bronze_flows.json` and raises `QualityGateFailed` naming each
failed expectation, the table and how many rows failed it.

A batch of at most `driver_max_rows` rows (config `quality.driver_max_rows`) is collected once,
through Arrow, and validated by GE's pandas engine: one Spark job instead of the eight or nine
GE's Spark engine starts for a suite whatever the rows (BENCHMARKS.md, "Small runs"), which
made the gates the largest fixed cost of a small run. A bigger batch is validated where it
lies, by GE's Spark engine. Both engines give the same verdicts on the same rows
(tests/integration/test_quality_gate.py runs each case through both).

The suite runs with GE's BOOLEAN_ONLY result format: each expectation's unexpected count and
nothing more. SUMMARY, GE's default, also collects up to 20 unexpected values per expectation,
a further scan of the table each, even when nothing fails. Only a failing gate validates again
with SUMMARY, for the counts and examples its message shows.

Great Expectations is imported here only, because its import alone takes seconds (a minute
on a loaded machine): a stage calls `import_in_background()` as soon as it knows it has rows
to gate, so the import overlaps its reading and transforming, and a run that finds nothing
new never pays for it.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
from pathlib import Path

from pyspark.sql import DataFrame

from flowlake.errors import PipelineStopped
from flowlake.session import PROJECT_ROOT


class QualityGateFailed(PipelineStopped):
    """A table's new rows failed its expectation suite; nothing was published."""


def suite_path(table: str) -> Path:
    folder = Path(os.environ.get("FLOWLAKE_EXPECTATIONS_DIR", PROJECT_ROOT / "expectations"))
    return folder / f"{table.replace('.', '_')}.json"


_import_started = threading.Event()


def import_in_background() -> None:
    """Import Great Expectations on a daemon thread, once; a gate that runs first waits for it."""
    if not _import_started.is_set():
        _import_started.set()
        threading.Thread(target=importlib.import_module, args=("great_expectations",), daemon=True,
                         name="import great_expectations").start()


def _shown(value):
    # GE stores bounds as floats: 65535.0 reads worse than the 65535 the suite says.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _failure_line(result) -> str:
    config = result.expectation_config
    details = result.result or {}
    kwargs = ", ".join(f"{k}={_shown(v)!r}" for k, v in config.kwargs.items() if k != "batch_id")
    unexpected = details.get("unexpected_count")
    if unexpected is None:
        return f"{config.type}({kwargs}): failed"
    examples = details.get("partial_unexpected_list") or []
    sample = f", e.g. {examples[:3]}" if examples else ""
    return f"{config.type}({kwargs}): {unexpected} of {details.get('element_count')} rows failed{sample}"


def expectation_suite(context, table: str):
    """The suite of `table` from its JSON file, added to `context`; GE refuses an unknown type."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    spec = json.loads(suite_path(table).read_text())
    suite = context.suites.add(gx.ExpectationSuite(name=spec["name"]))
    for expectation in spec["expectations"]:
        suite.add_expectation_configuration(ExpectationConfiguration(type=expectation["type"],
                                                                     kwargs=expectation["kwargs"]))
    return suite


def check_table(df: DataFrame, table: str, rows: int, driver_max_rows: int) -> int:
    """Validate the `rows` rows of `df` with the suite of `table`; return how many expectations passed.

    In the driver with GE's pandas engine when `rows <= driver_max_rows`, else with its Spark engine.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    # Job logs get one line per gate from flowlake, not a progress bar per metric.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = expectation_suite(context, table)
    if rows <= driver_max_rows:
        source = context.data_sources.add_pandas(name=f"{table}_source")
        # Arrow's own conversion: date columns stay dates, nullable integers become floats with
        # NaN for null, which GE's pandas engine counts as missing, as its Spark engine does null.
        rows_to_check = df.toArrow().to_pandas()
    else:
        # persist=False: GE would cache `df` and never release it, and the session's cache then
        # answers a later identical plan with these rows: a dump re-sent with new bytes under the
        # same key, read again by the same session, was published with its old rows (RELIABILITY.md).
        source = context.data_sources.add_spark(name=f"{table}_source", persist=False)
        rows_to_check = df
    batch = (source.add_dataframe_asset(name=table).add_batch_definition_whole_dataframe(f"{table}_new_rows")
             .get_batch(batch_parameters={"dataframe": rows_to_check}))
    results = batch.validate(suite, result_format="BOOLEAN_ONLY")
    if not results.success:
        results = batch.validate(suite, result_format="SUMMARY")
    failed = [r for r in results.results if not r.success]
    if failed:
        lines = "\n  ".join(_failure_line(r) for r in failed)
        raise QualityGateFailed(f"quality gate for {table} failed {len(failed)} of "
                                f"{len(results.results)} expectations; nothing was published:\n  {lines}")
    return len(results.results)
