"""The crypto-mining report: which hosts mined which coin, how much, with whom, and whether it
changed since a previous period; apart from them, the hosts whose crypto flows are contacts,
not mining.

Reads gold.crypto_activity_daily (the hosts meeting the mining rule) over the month of --as-of
and the comparison month, and gold.crypto_contacts_daily over the month of --as-of; the
comparison itself is `flowlake.gold.aggregates.crypto_period_comparison`, computed in Spark.
Headlines speak of miners only.
"""

from __future__ import annotations

import pandas as pd

from flowlake.gold.aggregates import MiningRule
from flowlake.reports import charts
from flowlake.reports.document import Report, Section
from flowlake.periods import ReportWindow


def host_activity(daily: pd.DataFrame, window: ReportWindow) -> pd.DataFrame:
    """Per range, host and coin over the current period: volume, peers, pools, first/last seen."""
    days = (window.end - window.start).days + 1
    current = daily[(daily["day"] >= window.start) & (daily["day"] <= window.end)]
    pool = current.assign(pool_flows=current["flows"].where(current["role"] == "pool", 0))
    table = pool.groupby(["range_name", "internal_ip", "coin"], as_index=False).agg(
        flows=("flows", "sum"), bytes=("bytes", "sum"), peer_days=("peers", "sum"), pool_flows=("pool_flows", "sum"),
        active_days=("day", "nunique"), first_seen=("day", "min"), last_seen=("day", "max"))
    table["peers_per_day"] = (table["peer_days"] / days).round(3)
    table["flows_per_hour"] = (table["flows"] / (24.0 * days)).round(3)
    return table.drop(columns="peer_days").sort_values(["range_name", "coin", "internal_ip"]).reset_index(drop=True)


def contact_activity(contacts: pd.DataFrame, window: ReportWindow) -> pd.DataFrame:
    """Per range, host, coin and kind over the current period: flows, bytes, days seen, the most
    remote addresses in one day, first and last seen."""
    current = contacts[(contacts["day"] >= window.start) & (contacts["day"] <= window.end)]
    table = current.groupby(["range_name", "internal_ip", "coin", "kind"], as_index=False).agg(
        flows=("flows", "sum"), bytes=("bytes", "sum"), active_days=("day", "nunique"),
        most_remote_ips_in_a_day=("remote_ips", "max"), first_seen=("day", "min"), last_seen=("day", "max"))
    return table.sort_values(["range_name", "coin", "internal_ip", "kind"]).reset_index(drop=True)


def _change_phrase(verdict: str | None, previous: float, current: float, unit: str) -> str:
    if verdict in ("new", "stopped") or verdict is None:
        return f"{verdict or 'none'} ({previous:,.1f} -> {current:,.1f} {unit})"
    change = (current - previous) / previous
    return f"{verdict} ({previous:,.1f} -> {current:,.1f} {unit}, {change:+.0%})"


def comparison_headlines(comparison: pd.DataFrame, window: ReportWindow) -> list[str]:
    lines = []
    for r in comparison.sort_values(["coin", "internal_ip"]).itertuples():
        lines.append(
            f"{r.internal_ip} ({r.range_name}) {r.coin}: daily volume "
            f"{_change_phrase(r.volume_change, r.previous_bytes_per_day, r.current_bytes_per_day, 'bytes/day')}, "
            f"peer rate {_change_phrase(r.peer_rate_change, r.previous_peers_per_day, r.current_peers_per_day, 'peers/day')}"
            f" against {window.previous_start:%B %Y}.")
    return lines or ["No crypto-mining activity in either period."]


def build_crypto_report(window: ReportWindow, daily: pd.DataFrame, comparison: pd.DataFrame, contacts: pd.DataFrame,
                        tolerance: float, rule: MiningRule, provenance: dict[str, str]) -> Report:
    activity = host_activity(daily, window)
    timeline = daily.assign(series=daily["internal_ip"] + " " + daily["coin"]) \
        .groupby(["day", "series"])["bytes"].sum().unstack(fill_value=0).sort_index()
    sections = [
        Section("hosts", f"Mining hosts, {window.start} to {window.end}",
                [f"A host mines a coin on a day when its stratum sessions to a known pool (a pool's hostname on a "
                 f"stratum port, never 443) were open in at least {rule.min_pool_hours} hours of the day, or when "
                 f"it reached at least {rule.min_p2p_peers} distinct peers on the coin's p2p port; only flows the "
                 "host started count. Peers per day is the mean of each day's distinct peers; pool flows are its "
                 "stratum flows."], None, activity),
        Section("comparison", f"Compared with {window.previous_start:%B %Y}",
                [f"Volume and peer rate count as the same within {tolerance:.0%} of the previous period's daily mean."],
                None, comparison.sort_values(["coin", "internal_ip"]).reset_index(drop=True)),
        Section("timeline", "Daily bytes per host and coin", [],
                charts.lines(timeline, "Daily bytes per host and coin", "bytes") if len(timeline) else None,
                timeline.rename_axis(columns=None).reset_index()),
        Section("contacts", f"Contacts, not mining, {window.start} to {window.end}",
                ["Hosts whose crypto flows did not meet the mining rule on a day, by kind: visits to a pool's web "
                 "site (pool_web), stratum that neither lasted nor recurred (pool), the p2p port to too few "
                 "addresses (p2p: one-off peers, a web server that happens to listen on the port), wallet RPC "
                 "(rpc). None of them is counted as mining above."], None, contact_activity(contacts, window)),
    ]
    return Report("crypto", "Crypto-mining activity", window, comparison_headlines(comparison, window), sections,
                  provenance)
