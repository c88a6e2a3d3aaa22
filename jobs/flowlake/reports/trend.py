"""The six-month trend report: what the monitored hosts used, month by month and week by week.

Figures (pure functions, pandas frames of gold rows in, frames out):
- `category_shares`: per period (month or ISO week) and range, each category's flows and bytes
  and its share of the range's total;
- `host_shares`: per month, range and category, the distinct active hosts that used it and
  their share of the range's active hosts (from silver: daily host counts do not add up);
- `top_services`, `service_months` (the gaming and anonymity sections);
- `headlines` and `shift_month`: how the shares of the two categories the shift is about
  (config `reports.shift_from`, `reports.shift_to`) moved, each share with its bootstrap
  interval over hosts and days (`flowlake.reports.bootstrap`), and the month one overtook the other;
- `dated_changes` and `shift_headline`: the change points of each category's weekly share,
  each with its range of weeks (`flowlake.reports.change_points`): "between week X and week Y";
- `weekday_hour_activity` (Spark, on silver): flows by local weekday and hour, for the heat map;
- `served_services`: per range and serving port, what remote hosts started toward the
  monitored hosts (gold.served_daily), kept apart from their own use;
- the coverage of each month's shares (`flowlake.reports.coverage`).
`build_trend_report` assembles them into a `Report`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from flowlake.config import ReportSettings
from flowlake.reports import charts
from flowlake.reports.bootstrap import ResampledShares, resampled_shares
from flowlake.reports.change_points import dated_change_points
from flowlake.reports.coverage import coverage_shares
from flowlake.reports.document import Report, Section
from flowlake.periods import ReportWindow

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
GAMING_SERVICES = ("world_of_warcraft", "league_of_legends", "steam")
MIN_WEEK_DAYS = 4  # days of data a week needs for the change points


def period_of_days(days: pd.DatetimeIndex, period: str) -> np.ndarray:
    """`YYYY-MM` for month, the Monday `YYYY-MM-DD` of the ISO week for week."""
    if period == "month":
        return days.strftime("%Y-%m").to_numpy()
    return (days - pd.to_timedelta(days.weekday, unit="D")).strftime("%Y-%m-%d").to_numpy()


def with_period(usage: pd.DataFrame, period: str) -> pd.DataFrame:
    """`period` column, see `period_of_days`."""
    return usage.assign(period=period_of_days(pd.DatetimeIndex(pd.to_datetime(usage["day"])), period))


def category_shares(usage: pd.DataFrame, period: str) -> pd.DataFrame:
    totals = (with_period(usage, period).groupby(["period", "range_name", "category"], as_index=False)
              [["flows", "bytes"]].sum())
    per_range = totals.groupby(["period", "range_name"])[["flows", "bytes"]].transform("sum")
    return (totals.assign(flows_share=(totals["flows"] / per_range["flows"]).round(4),
                          bytes_share=(totals["bytes"] / per_range["bytes"]).round(4))
            .sort_values(["range_name", "period", "category"]).reset_index(drop=True))


def host_shares(hosts: pd.DataFrame) -> pd.DataFrame:
    """`hosts` rows: month, range_name, category, hosts; category None holds the range's total."""
    totals = hosts[hosts["category"].isna()][["month", "range_name", "hosts"]].rename(columns={"hosts": "all_hosts"})
    shares = hosts[hosts["category"].notna()].merge(totals, on=["month", "range_name"])
    return (shares.assign(hosts_share=(shares["hosts"] / shares["all_hosts"]).round(4))
            .sort_values(["range_name", "month", "category"]).reset_index(drop=True))


def top_services(usage: pd.DataFrame, count: int) -> pd.DataFrame:
    """Per range, the `count` services with the most bytes over the window, with their shares."""
    totals = usage.groupby(["range_name", "service", "category"], as_index=False)[["flows", "bytes"]].sum()
    totals["bytes_share"] = (totals["bytes"] / totals.groupby("range_name")["bytes"].transform("sum")).round(4)
    ranked = totals.sort_values(["range_name", "bytes", "service"], ascending=[True, False, True])
    return ranked.groupby("range_name").head(count).reset_index(drop=True)


def service_months(usage: pd.DataFrame, category: str, services: tuple[str, ...] = ()) -> pd.DataFrame:
    """Per month, range and service of `category` (or of `services`): flows, bytes and share of
    the range's bytes that month."""
    monthly = with_period(usage, "month")
    range_bytes = monthly.groupby(["period", "range_name"], as_index=False)["bytes"].sum() \
        .rename(columns={"bytes": "range_bytes"})
    chosen = monthly[monthly["service"].isin(services)] if services else monthly[monthly["category"] == category]
    table = chosen.groupby(["period", "range_name", "service"], as_index=False)[["flows", "bytes"]].sum() \
        .merge(range_bytes, on=["period", "range_name"])
    table["bytes_share"] = (table["bytes"] / table["range_bytes"]).round(4)
    return table.drop(columns="range_bytes").rename(columns={"period": "month"}) \
        .sort_values(["range_name", "month", "service"]).reset_index(drop=True)


def _month_name(month: str) -> str:
    return pd.Timestamp(f"{month}-01").strftime("%B %Y")


def range_shares(monthly: pd.DataFrame, range_name: str) -> pd.DataFrame:
    """One range's bytes shares: periods by categories."""
    rows = monthly[monthly["range_name"] == range_name]
    return rows.pivot(index="period", columns="category", values="bytes_share").fillna(0.0)


def _with_interval(share: float, low: float, high: float) -> str:
    return f"{share:.0%} [{low:.0%}-{high:.0%}]"


def _moved(name: str, first: pd.Series, last: pd.Series) -> str:
    """`first` and `last`: bytes_share, bytes_share_low, bytes_share_high of a category's month."""
    before, after = round(first["bytes_share"], 2), round(last["bytes_share"], 2)
    verb = "fell" if after < before else "rose" if after > before else "held"
    return f"{name} {verb} from {_with_interval(*first)} to {_with_interval(*last)}"


def headlines(monthly: pd.DataFrame, shift_from: str, shift_to: str) -> list[str]:
    """Per range, how the bytes shares of the two categories the shift is about moved between
    the first and last month, each with its 95% bootstrap interval (`bytes_share_low`,
    `bytes_share_high`), e.g. "kp: western_social fell from 38% [33%-43%] to 4% [2%-6%] of
    bytes between July 2017 and December 2017; chinese_services rose from 3% [2%-4%] to 41% [37%-45%]."."""
    lines = []
    columns = ["bytes_share", "bytes_share_low", "bytes_share_high"]
    for range_name in sorted(monthly["range_name"].unique()):
        rows = monthly[monthly["range_name"] == range_name]
        months = sorted(rows["period"].unique())
        if len(months) < 2:
            continue
        cells = rows.set_index(["period", "category"])[columns]

        def share(month: str, category: str) -> pd.Series:
            return cells.loc[(month, category)] if (month, category) in cells.index else pd.Series(0.0, columns)

        lines.append(f"{range_name}: {_moved(shift_from, share(months[0], shift_from), share(months[-1], shift_from))}"
                     f" of bytes between {_month_name(months[0])} and {_month_name(months[-1])}; "
                     f"{_moved(shift_to, share(months[0], shift_to), share(months[-1], shift_to))}.")
    return lines


# The silver columns the trend's aggregates read (`host_day_bytes`, `weekday_hour_activity`, `monthly_hosts`).
TREND_COLUMNS = ("range_name", "day", "ts", "internal_ip", "category", "bytes", "flows")


def host_day_bytes(silver: DataFrame) -> DataFrame:
    """Per range, day, internal host and category: bytes (estimates); what the bootstrap resamples."""
    return silver.groupBy("range_name", "day", "internal_ip", "category").agg(F.sum("bytes").alias("bytes"))


def resampled_category_shares(host_days: pd.DataFrame, range_name: str, period: str,
                              settings: ReportSettings) -> ResampledShares:
    """One range's category shares of bytes per period, hosts and the period's days resampled."""
    return resampled_shares(host_days[host_days["range_name"] == range_name], "category", "bytes",
                            lambda days: period_of_days(days, period), settings.bootstrap_replicates,
                            settings.bootstrap_seed)


def with_intervals(shares: pd.DataFrame, resampled: ResampledShares) -> pd.DataFrame:
    """`category_shares` rows of one range with bytes_share_low and bytes_share_high."""
    intervals = resampled.table("period", "category").drop(columns="share") \
        .rename(columns={"share_low": "bytes_share_low", "share_high": "bytes_share_high"})
    merged = shares.merge(intervals, on=["period", "category"], how="left")
    # A category silver has no host rows for (none in the window) has no spread to show.
    return merged.fillna({"bytes_share_low": merged["bytes_share"], "bytes_share_high": merged["bytes_share"]})


def iso_week(monday: str) -> str:
    year, week, _ = pd.Timestamp(monday).isocalendar()
    return f"{year}-W{week:02d}"


def dated_changes(weekly: ResampledShares) -> pd.DataFrame:
    """Per category, its weekly share's change points: the first week of the new level, the
    range (Monday of the first week, Sunday of the last) the change happened in, the levels
    before and after, and the share of bootstrap replicates that confirm it. Weeks with fewer
    than MIN_WEEK_DAYS days of data (the window's ends: a month seldom starts on a Monday) are
    left out: two weekend days make a share too noisy to say where a level starts."""
    full = np.flatnonzero(weekly.days >= MIN_WEEK_DAYS)
    weeks = weekly.periods[full]
    rows = []
    for k, category in enumerate(weekly.keys):
        for point in dated_change_points(weekly.estimate[full, k], weekly.replicates[:, full, k]):
            rows.append({"category": category, "change_week": weeks[point.week],
                         "from_week": iso_week(weeks[point.first_week]),
                         "to_week": iso_week(weeks[point.last_week]),
                         "from_day": weeks[point.first_week],
                         "to_day": str((pd.Timestamp(weeks[point.last_week]) + pd.Timedelta(days=6)).date()),
                         "share_before": round(point.before, 4), "share_after": round(point.after, 4),
                         "support": round(point.support, 4)})
    return pd.DataFrame(rows, columns=["category", "change_week", "from_week", "to_week", "from_day", "to_day",
                                       "share_before", "share_after", "support"])


def shift_headline(range_name: str, changes: pd.DataFrame, shift_from: str, shift_to: str) -> str:
    """When the two categories of the shift changed level, e.g. "kp: the weekly share of bytes
    of western_social fell from 41% to 6% between week 2017-W33 and week 2017-W35 (14 August
    2017 to 3 September 2017, confirmed in 100% of resamples); ..."; or that neither did."""
    parts = []
    for category in (shift_from, shift_to):
        for c in changes[changes["category"] == category].itertuples():
            verb = "fell" if c.share_after < c.share_before else "rose"
            first, last = pd.Timestamp(c.from_day), pd.Timestamp(c.to_day)
            parts.append(f"the weekly share of bytes of {category} {verb} from {c.share_before:.0%} to {c.share_after:.0%} "
                         f"between week {c.from_week} and week {c.to_week} ({first:%-d %B %Y} to {last:%-d %B %Y}, "
                         f"confirmed in {c.support:.0%} of resamples)")
    if not parts:
        return (f"{range_name}: no lasting change in the weekly share of bytes of {shift_from} or {shift_to}: "
                f"no shift in this window.")
    return f"{range_name}: " + "; ".join(parts) + "."


def shift_month(monthly: pd.DataFrame, range_name: str, shift_from: str, shift_to: str) -> str | None:
    """The first month `shift_to`'s bytes share exceeded `shift_from`'s; None when it led from
    the first month on or never led."""
    shares = range_shares(monthly, range_name).reindex(columns=[shift_from, shift_to], fill_value=0.0)
    ahead = shares[shift_to] > shares[shift_from]
    if ahead.empty or ahead.iloc[0] or not ahead.any():
        return None
    return ahead.idxmax()


def _bands(week: pd.DataFrame, range_name: str) -> dict[str, tuple[pd.Series, pd.Series]]:
    """Per category: the low and high ends of its weekly shares' intervals, by week."""
    rows = week[week["range_name"] == range_name]
    return {category: (rows.pivot(index="period", columns="category", values="bytes_share_low")[category].fillna(0.0),
                       rows.pivot(index="period", columns="category", values="bytes_share_high")[category].fillna(0.0))
            for category in rows["category"].unique()}


def weekday_hour_activity(silver: DataFrame, timezone: str) -> DataFrame:
    """Per range, local weekday (0 = Monday) and hour: flows and bytes (estimates)."""
    local = F.from_utc_timestamp("ts", timezone)
    return (silver.groupBy("range_name", ((F.dayofweek(local) + 5) % 7).alias("weekday"), F.hour(local).alias("hour"))
            .agg(F.sum("flows").alias("flows"), F.sum("bytes").alias("bytes")))


def served_services(served: pd.DataFrame, countries: int = 3) -> pd.DataFrame:
    """Per range, serving port and protocol: the monitored hosts serving it, the flows, bytes and
    daily distinct remote addresses that reached it, and the `countries` they came from most."""
    columns = ["range_name", "internal_port", "protocol", "hosts", "flows", "bytes", "remote_ips", "top_countries"]
    if served.empty:
        return pd.DataFrame(columns=columns)
    keys = ["range_name", "internal_port", "protocol"]
    table = served.groupby(keys, as_index=False).agg(hosts=("internal_ip", "nunique"), flows=("flows", "sum"),
                                                     bytes=("bytes", "sum"), remote_ips=("remote_ips", "sum"))
    by_country = (served.fillna({"remote_country": "??"}).groupby([*keys, "remote_country"], as_index=False)["flows"]
                  .sum().sort_values([*keys, "flows", "remote_country"], ascending=[True, True, True, False, True]))
    top = by_country.groupby(keys).head(countries).groupby(keys)["remote_country"].agg(", ".join) \
        .rename("top_countries").reset_index()
    return (table.merge(top, on=keys).sort_values(["range_name", "flows", "internal_port"],
                                                  ascending=[True, False, True])[columns].reset_index(drop=True))


def monthly_hosts(silver: DataFrame) -> DataFrame:
    """Per month, range and category the distinct internal hosts; category null: all of them."""
    month = F.date_format("day", "yyyy-MM").alias("month")
    by_category = silver.groupBy(month, "range_name", "category").agg(F.countDistinct("internal_ip").alias("hosts"))
    overall = silver.groupBy(month, "range_name").agg(F.countDistinct("internal_ip").alias("hosts")) \
        .withColumn("category", F.lit(None).cast("string"))
    return by_category.unionByName(overall)


def heat_matrix(activity: pd.DataFrame, range_name: str) -> pd.DataFrame:
    """7 x 24 flows, weekdays by hours, zeros where nothing happened."""
    rows = activity[activity["range_name"] == range_name]
    matrix = rows.pivot_table(index="weekday", columns="hour", values="flows", aggfunc="sum")
    matrix = matrix.reindex(index=range(7), columns=range(24)).fillna(0).astype("int64")
    matrix.index = list(WEEKDAYS)
    return matrix


def weekend_ratio(matrix: pd.DataFrame) -> float:
    """Mean flows per weekend day over mean flows per weekday."""
    per_day = matrix.sum(axis=1)
    weekday = per_day.iloc[:5].mean()
    return float(per_day.iloc[5:].mean() / weekday) if weekday else 0.0


def build_trend_report(window: ReportWindow, usage: pd.DataFrame, hosts: pd.DataFrame, activity: pd.DataFrame,
                       served: pd.DataFrame, host_days: pd.DataFrame, settings: ReportSettings,
                       provenance: dict[str, str]) -> Report:
    """`host_days`: `host_day_bytes` rows of the window, which the intervals resample."""
    ranges = sorted(usage["range_name"].unique())
    monthly_all, weekly_all = category_shares(usage, "month"), category_shares(usage, "week")
    coverage = coverage_shares(with_period(usage, "month"), ["period", "range_name"]).drop(columns="bytes")
    resampled_weeks = {r: resampled_category_shares(host_days, r, "week", settings) for r in ranges}
    monthly = pd.concat([with_intervals(monthly_all[monthly_all["range_name"] == r],
                                        resampled_category_shares(host_days, r, "month", settings)) for r in ranges])
    shift_from, shift_to, timezone = settings.shift_from, settings.shift_to, settings.local_timezone
    lines = headlines(monthly, shift_from, shift_to)
    interval_note = (f"Intervals are 95% bootstrap intervals over hosts and days ({settings.bootstrap_replicates} "
                     f"replicates, seed {settings.bootstrap_seed}): how much the share would move with other hosts "
                     f"or other days of the same period.")
    sections = []
    for range_name in ranges:
        shift = shift_month(monthly, range_name, shift_from, shift_to)
        shares = monthly[monthly["range_name"] == range_name].merge(coverage, on=["period", "range_name"])
        sections.append(Section(
            f"monthly_shares_{range_name}", f"{range_name}: share of bytes by category, per month",
            [f"{shift_to} overtook {shift_from} in {_month_name(shift)}." if shift
             else f"{shift_to} did not overtake {shift_from} in this window.",
             "Beside each month's shares: their interval, and the share of its bytes unclassified, classified "
             "without a name (ambiguous) and estimated from sampled exporters.", interval_note],
            charts.stacked_shares(range_shares(monthly, range_name), f"{range_name}: share of bytes by category"),
            shares.rename(columns={"period": "month"})))
        changes = dated_changes(resampled_weeks[range_name])
        lines.append(shift_headline(range_name, changes, shift_from, shift_to))
        week = with_intervals(weekly_all[weekly_all["range_name"] == range_name], resampled_weeks[range_name])
        sections.append(Section(
            f"weekly_shares_{range_name}", f"{range_name}: share of bytes by category, per week",
            ["Bands: each share's interval. Shaded: the range of weeks of each change point of "
             f"{shift_from} and {shift_to}.", interval_note],
            charts.lines(range_shares(week, range_name), f"{range_name}: weekly share of bytes", "share of bytes",
                         percent=True, bands=_bands(week, range_name),
                         spans=[(c.from_day, str((pd.Timestamp(c.to_day) - pd.Timedelta(days=6)).date()), c.category)
                                for c in changes[changes["category"].isin([shift_from, shift_to])].itertuples()]),
            week.rename(columns={"period": "week"})))
        sections.append(Section(
            f"change_points_{range_name}", f"{range_name}: when each category's weekly share changed level",
            ["A change point is where a category's weekly share of bytes moves to a new level that lasts: "
             "ruptures' PELT on the weekly shares after a five-week running median, so a dip of a week or two "
             "(an outage, a holiday) is no change. Its range runs from the Monday of from_week to the Sunday "
             "of to_week: where 95% of the bootstrap replicates place it, and the week before (a change inside "
             "a week leaves that week between the two levels). support: the share of replicates in which the "
             "change still stands out from the week-to-week noise."] if len(changes) else
            ["No category's weekly share changed to a new level that lasts in this window."],
            None, changes))
        matrix = heat_matrix(activity, range_name)
        sections.append(Section(
            f"weekday_hour_{range_name}", f"{range_name}: flows by weekday and hour ({timezone})",
            [f"A weekend day carries {weekend_ratio(matrix):.0%} of a weekday's flows."],
            charts.heatmap(matrix, f"{range_name}: flows by weekday and hour ({timezone})"),
            matrix.rename_axis("weekday").reset_index()))
    host_table = host_shares(hosts)
    sections.append(Section("active_hosts", "Share of active hosts that used each category, per month",
                            ["A host counts once per category a month; one host uses several categories."],
                            None, host_table))
    sections.append(Section("top_services", f"Top {settings.top_services} services by bytes over the window", [],
                            None, top_services(usage, settings.top_services)))
    for name, title, category, services in (
            ("gaming", "Gaming: World of Warcraft, League of Legends, Steam", "gaming", GAMING_SERVICES),
            ("anonymity", "Anonymity: VPN, VPS and Tor", "anonymity", ())):
        table = service_months(usage, category, services)
        by_month = table.groupby(["month", "service"])["bytes"].sum().unstack(fill_value=0)
        sections.append(Section(name, title, [] if len(table) else ["None seen in this window."],
                                charts.lines(by_month, title, "bytes per month") if len(table) else None, table))
    sections.append(Section("served", "Served: who reached the monitored hosts' services",
                            ["Conversations remote hosts started (crawlers, scanners, clients of the monitored "
                             "hosts' servers), by the port they reached; none of it counts above as use. "
                             "Remote addresses are summed over days."] if len(served) else ["None in this window."],
                            None, served_services(served)))
    return Report("trend", "Six-month trend by service and category", window, lines, sections, provenance)
