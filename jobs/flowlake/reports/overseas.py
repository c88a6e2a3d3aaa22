"""The overseas-country presence report: where the monitored users were, and what changed.

Reads gold.overseas_presence for the month of --as-of: every country ranked by activity
ratio, the flagged ones with their local-resource evidence, and the countries new or dropped
since the month before (gold's `change` column, see `flowlake.gold.aggregates.presence_changes`).
"""

from __future__ import annotations

import pandas as pd

from flowlake.config import GoldSettings
from flowlake.reports import charts
from flowlake.reports.document import Report, Section
from flowlake.reports.windows import ReportWindow

# Countries drawn in the ranking chart; the CSV holds them all.
CHART_COUNTRIES = 20


def ranked_countries(presence: pd.DataFrame) -> pd.DataFrame:
    columns = ["country", "flagged", "change", "activity_ratio", "local_domains", "local_days", "local_hosts",
               "evidence", "bytes", "flows", "hosts"]
    return presence.sort_values(["flagged", "activity_ratio", "country"], ascending=[False, False, True])[columns] \
        .reset_index(drop=True)


def changed_countries(presence: pd.DataFrame, change: str) -> list[str]:
    return sorted(presence.loc[presence["change"] == change, "country"])


def presence_headlines(ranked: pd.DataFrame, compared: bool) -> list[str]:
    flagged = ranked[ranked["flagged"]]
    lines = [f"{len(flagged)} countries flagged: " + ", ".join(
        f"{r.country} (activity {r.activity_ratio:.1f}x the mean, {r.local_domains} local domains "
        f"on {r.local_days} days by {r.local_hosts} hosts)"
        for r in flagged.itertuples()) if len(flagged) else "No country flagged."]
    if compared:
        new, dropped = changed_countries(ranked, "new"), changed_countries(ranked, "dropped")
        lines.append(f"New since the month before: {', '.join(new) or 'none'}. "
                     f"Dropped: {', '.join(dropped) or 'none'}.")
    else:
        lines.append("No data for the month before: nothing to compare with.")
    return lines


def build_overseas_report(window: ReportWindow, presence: pd.DataFrame, rule: GoldSettings,
                          provenance: dict[str, str]) -> Report:
    ranked = ranked_countries(presence)
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
                ["Red bars are flagged; the dashed line is the activity threshold."],
                charts.ranked_bars(top.set_index("country")["activity_ratio"], set(ranked.loc[ranked["flagged"], "country"]),
                                   rule.presence_min_activity_ratio, "Activity ratio by country", "activity / mean over countries")
                if len(top) else None, ranked),
        Section("changes", "New and dropped countries since the month before", [],
                None, ranked[ranked["change"].isin(["new", "dropped"])][["country", "change", "activity_ratio",
                                                                         "local_domains"]].reset_index(drop=True)),
    ]
    return Report("overseas", "Overseas-country presence", window, presence_headlines(ranked, compared), sections,
                  provenance)
