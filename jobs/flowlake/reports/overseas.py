"""The overseas-country presence report: where the monitored users were, and what changed.

Reads gold.overseas_presence for the month of --as-of: every country ranked by activity
ratio, the flagged ones with their local-resource evidence, and the countries new or dropped
since the month before (gold's `change` column, see `flowlake.gold.aggregates.presence_changes`).
Each activity ratio has its 95% bootstrap interval over hosts and the month's days
(`flowlake.reports.bootstrap.activity_ratio_intervals`, on the silver rows gold counts),
shown beside it and as error bars.
"""

from __future__ import annotations

import pandas as pd

from flowlake.config import GoldSettings, ReportSettings
from flowlake.reports import charts
from flowlake.reports.document import Report, Section
from flowlake.periods import ReportWindow

# Countries drawn in the ranking chart; the CSV holds them all.
CHART_COUNTRIES = 20


def ranked_countries(presence: pd.DataFrame) -> pd.DataFrame:
    columns = ["country", "flagged", "change", "activity_ratio", "ratio_low", "ratio_high", "local_domains",
               "local_days", "local_hosts", "evidence", "bytes", "flows", "hosts"]
    return presence.sort_values(["flagged", "activity_ratio", "country"], ascending=[False, False, True])[columns] \
        .reset_index(drop=True)


def changed_countries(presence: pd.DataFrame, change: str) -> list[str]:
    return sorted(presence.loc[presence["change"] == change, "country"])


def presence_headlines(ranked: pd.DataFrame, compared: bool) -> list[str]:
    flagged = ranked[ranked["flagged"]]
    lines = [f"{len(flagged)} countries flagged: " + ", ".join(
        f"{r.country} (activity {r.activity_ratio:.1f}x [{r.ratio_low:.1f}-{r.ratio_high:.1f}x] the mean, "
        f"{r.local_domains} local domains "
        f"on {r.local_days} days by {r.local_hosts} hosts)"
        for r in flagged.itertuples()) if len(flagged) else "No country flagged."]
    if compared:
        new, dropped = changed_countries(ranked, "new"), changed_countries(ranked, "dropped")
        lines.append(f"New since the month before: {', '.join(new) or 'none'}. "
                     f"Dropped: {', '.join(dropped) or 'none'}.")
    else:
        lines.append("No data for the month before: nothing to compare with.")
    return lines


def with_ratio_intervals(presence: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """gold's presence rows with ratio_low and ratio_high; a country with no activity left (a
    dropped one) has none to resample: its interval is its ratio."""
    merged = presence.merge(intervals[["country", "ratio_low", "ratio_high"]], on="country", how="left")
    return merged.fillna({"ratio_low": merged["activity_ratio"], "ratio_high": merged["activity_ratio"]})


def build_overseas_report(window: ReportWindow, presence: pd.DataFrame, intervals: pd.DataFrame, rule: GoldSettings,
                          settings: ReportSettings, provenance: dict[str, str]) -> Report:
    """`intervals`: `activity_ratio_intervals` of the month's counted activity."""
    ranked = ranked_countries(with_ratio_intervals(presence, intervals))
    # previously_flagged is null throughout when gold had no month before this one.
    compared = bool(presence["previously_flagged"].notna().any())
    top = ranked[ranked["activity_ratio"] > 0].head(CHART_COUNTRIES)
    sections = [
        Section("flagged_countries", "Flagged countries and their evidence",
                [f"A country is flagged when its activity (bytes, flows and hosts, global platforms and CDNs "
                 f"left out, its own local sites counted wherever they are hosted) is at least "
                 f"{rule.presence_min_activity_ratio:g}x the mean over countries and the hosts used at least "
                 f"{rule.presence_min_local_domains} of its local news, government, education or military "
                 f"domains, on at least {rule.presence_min_days} days and from at least "
                 f"{rule.presence_min_hosts} hosts."],
                None, ranked[ranked["flagged"]].reset_index(drop=True)),
        Section("countries_ranked", "Every country by activity ratio",
                ["Red bars are flagged; the dashed line is the activity threshold. Error bars and ratio_low, "
                 f"ratio_high: 95% bootstrap intervals over hosts and the month's days "
                 f"({settings.bootstrap_replicates} replicates, seed {settings.bootstrap_seed})."],
                charts.ranked_bars(top.set_index("country")["activity_ratio"], set(ranked.loc[ranked["flagged"], "country"]),
                                   rule.presence_min_activity_ratio, "Activity ratio by country", "activity / mean over countries",
                                   top.set_index("country")[["ratio_low", "ratio_high"]])
                if len(top) else None, ranked),
        Section("changes", "New and dropped countries since the month before", [],
                None, ranked[ranked["change"].isin(["new", "dropped"])][["country", "change", "activity_ratio",
                                                                         "local_domains"]].reset_index(drop=True)),
    ]
    return Report("overseas", "Overseas-country presence", window, presence_headlines(ranked, compared), sections,
                  provenance)
