"""The six-month trend report: what the monitored hosts used, month by month and week by week.

Figures (pure functions, pandas frames of gold rows in, frames out):
- `category_shares`: per period (month or ISO week) and range, each category's flows and bytes
  and its share of the range's total;
- `host_shares`: per month, range and category, the distinct active hosts that used it and
  their share of the range's active hosts (from silver: daily host counts do not add up);
- `top_services`, `service_months` (the gaming and anonymity sections);
- `headlines` and `shift_month`: how the shares of the two categories the shift is about
  (config `reports.shift_from`, `reports.shift_to`) moved, and the month one overtook the other;
- `weekday_hour_activity` (Spark, on silver): flows by local weekday and hour, for the heat map;
- `served_services`: per range and serving port, what remote hosts started toward the
  monitored hosts (gold.served_daily), kept apart from their own use;
- the coverage of each month's shares (`flowlake.reports.coverage`).
`build_trend_report` assembles them into a `Report`.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from flowlake.config import ReportSettings
from flowlake.reports import charts
from flowlake.reports.coverage import coverage_shares
from flowlake.reports.document import Report, Section
from flowlake.reports.windows import ReportWindow

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
GAMING_SERVICES = ("world_of_warcraft", "league_of_legends", "steam")


def with_period(usage: pd.DataFrame, period: str) -> pd.DataFrame:
    """`period` column: `YYYY-MM` for month, the Monday `YYYY-MM-DD` of the ISO week for week."""
    days = pd.to_datetime(usage["day"])
    if period == "month":
        label = days.dt.strftime("%Y-%m")
    else:
        label = (days - pd.to_timedelta(days.dt.weekday, unit="D")).dt.strftime("%Y-%m-%d")
    return usage.assign(period=label)


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


def _moved(name: str, first: float, last: float) -> str:
    verb = "fell" if round(last, 2) < round(first, 2) else "rose" if round(last, 2) > round(first, 2) else "held"
    return f"{name} {verb} from {first:.0%} to {last:.0%}"


def headlines(monthly: pd.DataFrame, shift_from: str, shift_to: str) -> list[str]:
    """Per range, how the bytes shares of the two categories the shift is about moved between
    the first and last month, e.g. "kp: western_social fell from 38% to 4% of bytes between
    July 2017 and December 2017; chinese_services rose from 3% to 41%."."""
    lines = []
    for range_name in sorted(monthly["range_name"].unique()):
        shares = range_shares(monthly, range_name).reindex(columns=[shift_from, shift_to], fill_value=0.0)
        if len(shares.index) < 2:
            continue
        first, last = shares.iloc[0], shares.iloc[-1]
        lines.append(f"{range_name}: {_moved(shift_from, first[shift_from], last[shift_from])} of bytes between "
                     f"{_month_name(shares.index[0])} and {_month_name(shares.index[-1])}; "
                     f"{_moved(shift_to, first[shift_to], last[shift_to])}.")
    return lines


def shift_month(monthly: pd.DataFrame, range_name: str, shift_from: str, shift_to: str) -> str | None:
    """The first month `shift_to`'s bytes share exceeded `shift_from`'s; None when it led from
    the first month on or never led."""
    shares = range_shares(monthly, range_name).reindex(columns=[shift_from, shift_to], fill_value=0.0)
    ahead = shares[shift_to] > shares[shift_from]
    if ahead.empty or ahead.iloc[0] or not ahead.any():
        return None
    return ahead.idxmax()


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
                       served: pd.DataFrame, settings: ReportSettings, provenance: dict[str, str]) -> Report:
    monthly = category_shares(usage, "month")
    coverage = coverage_shares(with_period(usage, "month"), ["period", "range_name"]).drop(columns="bytes")
    weekly = category_shares(usage, "week")
    shift_from, shift_to, timezone = settings.shift_from, settings.shift_to, settings.local_timezone
    lines = headlines(monthly, shift_from, shift_to)
    sections = []
    for range_name in sorted(usage["range_name"].unique()):
        shift = shift_month(monthly, range_name, shift_from, shift_to)
        shares = monthly[monthly["range_name"] == range_name].merge(coverage, on=["period", "range_name"])
        sections.append(Section(
            f"monthly_shares_{range_name}", f"{range_name}: share of bytes by category, per month",
            [f"{shift_to} overtook {shift_from} in {_month_name(shift)}." if shift
             else f"{shift_to} did not overtake {shift_from} in this window.",
             "Beside each month's shares: the share of its bytes unclassified, classified without a name "
             "(ambiguous) and estimated from sampled exporters."],
            charts.stacked_shares(range_shares(monthly, range_name), f"{range_name}: share of bytes by category"),
            shares.rename(columns={"period": "month"})))
        if shift:
            lines.append(f"{range_name}: the shift happened in {_month_name(shift)}.")
        week = weekly[weekly["range_name"] == range_name]
        sections.append(Section(
            f"weekly_shares_{range_name}", f"{range_name}: share of bytes by category, per week", [],
            charts.lines(range_shares(weekly, range_name), f"{range_name}: weekly share of bytes", "share of bytes",
                         percent=True),
            week.rename(columns={"period": "week"})))
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
