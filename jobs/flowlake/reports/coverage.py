"""Coverage: how much of a report's bytes rest on guesses, from gold.service_usage_daily.

Every figure in the reports counts estimates (a sampled exporter's records scaled by its
sampling rate) of what the monitored hosts started. Beside the shares, a reader needs to know
how much of the traffic behind them was not classified at all (`unclassified`), was
classified without a name because its address had several that disagree (`ambiguous`), or
was estimated from sampled records (`estimated`). `coverage_shares` gives those three shares
per group of rows (a month and range, or the whole window); `coverage_headline` and
`coverage_section` are the headline line and the section every report carries.
"""

from __future__ import annotations

import pandas as pd

from flowlake.reports.document import Section
from flowlake.silver.service_catalog import UNCLASSIFIED

COVERAGE_COLUMNS = ("unclassified_share", "ambiguous_share", "estimated_share")


def coverage_shares(usage: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per `by` group of service_usage_daily rows: bytes and the three coverage shares."""
    parts = usage.assign(unclassified_bytes=usage["bytes"].where(usage["service"] == UNCLASSIFIED, 0))
    sums = parts.groupby(by, as_index=False)[["bytes", "unclassified_bytes", "ambiguous_bytes",
                                              "estimated_bytes"]].sum()
    for share, part in zip(COVERAGE_COLUMNS, ("unclassified_bytes", "ambiguous_bytes", "estimated_bytes")):
        sums[share] = (sums[part] / sums["bytes"].where(sums["bytes"] > 0)).fillna(0.0).round(4)
    return sums[[*by, "bytes", *COVERAGE_COLUMNS]]


def coverage_sentence(row) -> str:
    return (f"{row.unclassified_share:.1%} of the bytes were unclassified, {row.ambiguous_share:.1%} classified "
            f"without a name (their address had several that disagree), and {row.estimated_share:.1%} estimated "
            f"from sampled exporters.")


def coverage_headline(usage: pd.DataFrame) -> str:
    """One headline: per range, the bytes its figures rest on that are guesses."""
    if usage.empty:
        return "Coverage: no traffic in this window."
    return "Coverage of these figures (share of bytes): " + "; ".join(
        f"{r.range_name} {r.unclassified_share:.1%} unclassified, {r.ambiguous_share:.1%} ambiguous, "
        f"{r.estimated_share:.1%} estimated from sampling" for r in coverage_shares(usage, ["range_name"]).itertuples()
    ) + "."


def coverage_section(usage: pd.DataFrame) -> Section:
    """Per range over the report's window: what its figures rest on."""
    table = coverage_shares(usage, ["range_name"]) if len(usage) else pd.DataFrame(
        columns=["range_name", "bytes", *COVERAGE_COLUMNS])
    paragraphs = ["Flows, bytes and packets are estimates: a sampled exporter's records are scaled by its "
                  "sampling rate. Only what the monitored hosts started counts as their use."]
    paragraphs += [f"{r.range_name}: {coverage_sentence(r)}" for r in table.itertuples()]
    return Section("coverage", "Coverage: what the figures rest on", paragraphs, None, table)
