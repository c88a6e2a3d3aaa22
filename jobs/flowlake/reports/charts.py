"""The reports' charts as PNG bytes, drawn with matplotlib (no display needed).

Each function takes a small pandas frame the report already holds, so the CSV beside a chart
carries exactly the numbers drawn.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import pandas as pd  # noqa: E402

# One colour per category, the same in every chart.
CATEGORY_COLOURS = {
    "western_social": "#3b5998", "chinese_services": "#d62728", "streaming": "#9467bd", "gaming": "#2ca02c",
    "crypto": "#ff7f0e", "anonymity": "#7f7f7f", "search": "#17becf", "other": "#c7c7c7",
}


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    # No timestamp or software tag: the same figures give the same bytes.
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def stacked_shares(shares: pd.DataFrame, title: str) -> bytes:
    """Bars per period (index), stacked by category (columns), values 0..1."""
    figure, axes = plt.subplots(figsize=(9, 4))
    bottom = pd.Series(0.0, index=shares.index)
    for category in shares.columns:
        axes.bar(shares.index.astype(str), shares[category], bottom=bottom, label=category,
                 color=CATEGORY_COLOURS.get(category))
        bottom += shares[category]
    axes.set_ylim(0, 1)
    axes.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes.set_title(title)
    axes.legend(loc="center left", bbox_to_anchor=(1, 0.5), fontsize=8)
    return _png(figure)


def lines(series: pd.DataFrame, title: str, ylabel: str, percent: bool = False,
          bands: dict[str, tuple[pd.Series, pd.Series]] | None = None,
          spans: list[tuple[str, str, str]] = ()) -> bytes:
    """One line per column over the index (dates or periods); `bands`: per column, the low and
    high ends of its interval at each index value, drawn as a translucent band; `spans`: (first,
    last index value, column) ranges shaded in the column's colour (a change point's weeks)."""
    figure, axes = plt.subplots(figsize=(9, 3.5))
    labels = list(series.index.astype(str))
    for column in series.columns:
        axes.plot(labels, series[column], marker="o", markersize=3, label=str(column),
                  color=CATEGORY_COLOURS.get(column))
        if bands and column in bands:
            low, high = (part.reindex(series.index).fillna(series[column]) for part in bands[column])
            axes.fill_between(range(len(labels)), low.to_numpy(float), high.to_numpy(float), alpha=0.2,
                              color=CATEGORY_COLOURS.get(column), linewidth=0)
    for first, last, column in spans:
        if first in labels and last in labels:
            axes.axvspan(labels.index(first) - 0.5, labels.index(last) + 0.5, alpha=0.12,
                         color=CATEGORY_COLOURS.get(column))
    if percent:
        axes.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    if len(series.index) > 20:
        for i, label in enumerate(axes.get_xticklabels()):
            label.set_visible(i % (len(series.index) // 12 + 1) == 0)
    if len(series.columns):
        axes.legend(loc="center left", bbox_to_anchor=(1, 0.5), fontsize=8)
    return _png(figure)


def heatmap(matrix: pd.DataFrame, title: str) -> bytes:
    """Rows (weekdays) by columns (hours), darker is more."""
    figure, axes = plt.subplots(figsize=(9, 3))
    image = axes.imshow(matrix.to_numpy(dtype=float), aspect="auto", cmap="viridis")
    axes.set_xticks(range(len(matrix.columns)), [str(c) for c in matrix.columns], fontsize=7)
    axes.set_yticks(range(len(matrix.index)), list(matrix.index))
    axes.set_xlabel("hour")
    axes.set_title(title)
    figure.colorbar(image, ax=axes)
    return _png(figure)


def ranked_bars(values: pd.Series, highlighted: set, threshold: float, title: str, xlabel: str,
                intervals: pd.DataFrame) -> bytes:
    """Horizontal bars, largest on top, highlighted ones coloured, a dashed threshold line, and
    error bars from `intervals` (two columns, low and high, indexed like `values`)."""
    figure, axes = plt.subplots(figsize=(8, max(2.5, 0.35 * len(values) + 1)))
    ordered = values.sort_values()
    low, high = (intervals.iloc[:, i].reindex(ordered.index).to_numpy(float) for i in (0, 1))
    colours = ["#d62728" if label in highlighted else "#9e9e9e" for label in ordered.index]
    # Error bars as distances below and above each bar (never negative: rounding aside).
    errors = [(ordered.to_numpy() - low).clip(0), (high - ordered.to_numpy()).clip(0)]
    axes.barh([str(i) for i in ordered.index], ordered.to_numpy(), color=colours, xerr=errors,
              error_kw={"elinewidth": 1, "capsize": 2})
    axes.axvline(threshold, linestyle="--", color="black", linewidth=1)
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    return _png(figure)
