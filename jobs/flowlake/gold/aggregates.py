"""Gold aggregates: pure functions from silver rows to the four gold tables.

- `service_usage_daily`: per day, range, service and category: flows, bytes, packets, hosts.
- `country_activity_daily`: per day, range and country: flows, bytes, remote addresses, hosts,
  local-resource flows and domains. A local resource counts for the country it belongs to
  (its ccTLD or the catalog's word), any other flow for the country of its remote address.
- `crypto_activity_daily`: per day, range, internal host, coin and role: flows, bytes, distinct
  peers and flows per hour (flows over the 24 hours of the day).
- `overseas_presence`: per period and country, the two-pronged heuristic of the published
  analysis, with local evidence needed on several days and from several hosts (see
  `overseas_presence` and the README), and with `presence_changes` which countries are new,
  kept or dropped since the period before.
- `crypto_period_comparison`: per host and coin, daily volume and peer rate in one period beside
  another, and whether each stayed the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F


def service_usage_daily(silver: DataFrame) -> DataFrame:
    return (silver.groupBy("day", "range_name", "service", "category")
            .agg(F.count(F.lit(1)).alias("flows"), F.sum("bytes").alias("bytes"), F.sum("packets").alias("packets"),
                 F.countDistinct("internal_ip").alias("hosts")))


def activity_country():
    """The country a flow's activity counts for: a local resource's own, else the address's."""
    return F.coalesce("local_resource_country", "remote_country")


def country_activity_daily(silver: DataFrame) -> DataFrame:
    local = F.col("local_resource_kind").isNotNull()
    return (silver.withColumn("country", activity_country()).where("country IS NOT NULL")
            .groupBy("day", "range_name", "country")
            .agg(F.count(F.lit(1)).alias("flows"), F.sum("bytes").alias("bytes"),
                 F.countDistinct("remote_ip").alias("remote_ips"),
                 F.count(F.when(local, 1)).alias("local_resource_flows"),
                 F.countDistinct(F.when(local, F.col("local_resource_domain"))).alias("local_resource_domains"),
                 F.countDistinct("internal_ip").alias("hosts")))


def crypto_activity_daily(silver: DataFrame) -> DataFrame:
    return (silver.where("crypto_coin IS NOT NULL")
            .groupBy("day", "range_name", "internal_ip", F.col("crypto_coin").alias("coin"), F.col("crypto_role").alias("role"))
            .agg(F.count(F.lit(1)).alias("flows"), F.sum("bytes").alias("bytes"),
                 F.countDistinct("remote_ip").alias("peers"))
            .withColumn("flows_per_hour", F.round(F.col("flows") / F.lit(24.0), 3)))


@dataclass(frozen=True)
class PresenceRule:
    """Thresholds of the overseas-presence heuristic (config `gold.presence_*`)."""

    min_activity_ratio: float = 1.0  # a country's activity over the mean across countries
    min_local_domains: int = 3  # distinct local news, government, education and military domains
    min_days: int = 3  # distinct days with local evidence in the period
    min_hosts: int = 2  # distinct internal hosts with local evidence in the period
    evidence_domains: int = 5  # top local domains kept as evidence
    # Where a global platform or CDN is hosted says nothing about where its users live.
    excluded_categories: tuple[str, ...] = ("western_social", "chinese_services", "streaming", "gaming",
                                            "search", "crypto", "anonymity")


def overseas_presence(silver: DataFrame, period_start: date, period_end: date, rule: PresenceRule,
                      excluded_services: list[str]) -> DataFrame:
    """Per country in [period_start, period_end]: activity ratio, local evidence, flag.

    Activity counts the monitored hosts' own outbound flows that are not to global platforms
    or infrastructure (excluded categories and services): scanners probing them say nothing
    about where they are. A local resource always counts, for its own country, whatever
    serves it: a ministry's site behind a CDN is the CDN's service on the CDN's addresses.
    For each of bytes, flows and distinct internal hosts a country's value is divided by the
    mean over all countries with activity; `activity_ratio` is the mean of the three ratios.
    `flagged` needs activity_ratio >= min_activity_ratio AND at least min_local_domains
    distinct local domains of that country, used on at least min_days distinct days
    (`local_days`) by at least min_hosts distinct internal hosts (`local_hosts`).
    """
    local = F.col("local_resource_kind").isNotNull()
    platform = F.col("category").isin(*rule.excluded_categories) | F.col("service").isin(*excluded_services)
    period = (silver.where(F.col("day").between(F.lit(period_start), F.lit(period_end)))
              .where(F.col("direction") == "outbound")
              .where(local | ~platform)
              .withColumn("country", activity_country()).where("country IS NOT NULL"))
    own_local = F.col("local_resource_country") == F.col("country")
    per_country = period.groupBy("country").agg(
        F.sum("bytes").alias("bytes"), F.count(F.lit(1)).alias("flows"), F.countDistinct("internal_ip").alias("hosts"),
        F.countDistinct(F.when(own_local, F.col("local_resource_domain"))).alias("local_domains"),
        F.countDistinct(F.when(own_local, F.col("day"))).alias("local_days"),
        F.countDistinct(F.when(own_local, F.col("internal_ip"))).alias("local_hosts"))
    everywhere = Window.partitionBy()
    ratio = sum(F.col(m) / F.avg(m).over(everywhere) for m in ("bytes", "flows", "hosts")) / 3
    top_domains = (period.where(own_local)
                   .groupBy("country", "local_resource_domain").agg(F.count(F.lit(1)).alias("n"))
                   .withColumn("rank", F.row_number().over(
                       Window.partitionBy("country").orderBy(F.col("n").desc(), "local_resource_domain")))
                   .where(F.col("rank") <= rule.evidence_domains)
                   .groupBy("country").agg(F.array_join(F.transform(
                       F.array_sort(F.collect_list(F.struct("rank", "local_resource_domain", "n"))),
                       lambda x: F.concat(x["local_resource_domain"], F.lit(" ("), x["n"].cast("string"), F.lit(")"))),
                       ", ").alias("evidence")))
    flagged = ((F.col("activity_ratio") >= rule.min_activity_ratio)
               & (F.col("local_domains") >= rule.min_local_domains)
               & (F.col("local_days") >= rule.min_days) & (F.col("local_hosts") >= rule.min_hosts))
    return (per_country.withColumn("activity_ratio", F.round(ratio, 4))
            .join(top_domains, "country", "left")
            .select(F.lit(period_start).alias("period_start"), F.lit(period_end).alias("period_end"), "country",
                    "activity_ratio", "local_domains", "local_days", "local_hosts", flagged.alias("flagged"),
                    F.coalesce("evidence", F.lit("")).alias("evidence"), "bytes", "flows", "hosts"))


PRESENCE_METRICS = {"activity_ratio": 0.0, "local_domains": 0, "local_days": 0, "local_hosts": 0, "flagged": False,
                    "evidence": "",
                    "bytes": 0, "flows": 0, "hosts": 0}


def presence_changes(presence: DataFrame) -> DataFrame:
    """Monthly presence rows with `previously_flagged` and `change` against the month before.

    `change` is `new` (flagged now, not the month before), `dropped` (the reverse), `kept`
    (both), or null (flagged in neither, or no data for the month before: nothing to compare,
    and `previously_flagged` is null too). A country dropped with no activity at all this month
    still gets a row, with zero metrics, so the comparison is whole. Input: `overseas_presence`
    rows of consecutive months; months without rows get none.
    """
    months_with_data = presence.select("period_start").distinct()
    previous = presence.select(F.add_months("period_start", 1).alias("period_start"), "country",
                               F.col("flagged").alias("previously_flagged"))
    has_previous = months_with_data.select(F.add_months("period_start", 1).alias("period_start"),
                                           F.lit(True).alias("has_previous"))
    compared = (presence.join(previous, ["period_start", "country"], "full")
                .join(months_with_data, "period_start", "left_semi")
                # A country active only the month before matters here only if it was flagged then.
                .where("flagged IS NOT NULL OR previously_flagged")
                .join(has_previous, "period_start", "left")
                .fillna(PRESENCE_METRICS)
                .withColumn("previously_flagged",
                            F.when(F.col("has_previous"), F.coalesce("previously_flagged", F.lit(False))))
                .withColumn("period_end", F.coalesce("period_end", F.last_day("period_start"))))
    change = (F.when(F.col("flagged") & ~F.col("previously_flagged"), "new")
              .when(~F.col("flagged") & F.col("previously_flagged"), "dropped")
              .when(F.col("flagged") & F.col("previously_flagged"), "kept"))
    return compared.select("period_start", "period_end", "country", *PRESENCE_METRICS, "previously_flagged",
                           change.alias("change"))


def _change_verdict(current: Column, previous: Column, tolerance: float) -> Column:
    """same / higher / lower (beyond `tolerance` as a fraction of previous), new or stopped."""
    return (F.when((previous == 0) & (current == 0), None)
            .when(previous == 0, "new").when(current == 0, "stopped")
            .when(F.abs(current - previous) <= previous * tolerance, "same")
            .when(current > previous, "higher").otherwise("lower"))


def crypto_period_comparison(crypto_daily: DataFrame, current: tuple[date, date], previous: tuple[date, date],
                             tolerance: float) -> DataFrame:
    """Per range, host and coin: each period's daily means and whether they stayed the same.

    Means are over the period's calendar days, so periods of different lengths compare:
    `bytes_per_day`, `flows_per_hour` and `peers_per_day` (the mean of the daily distinct peers
    over every role), plus `pool_flows`, and `first_seen`/`last_seen` days. `volume_change`
    and `peer_rate_change` say `same` when the current value is within `tolerance` (a fraction)
    of the previous one, else `higher` or `lower`; `new` or `stopped` when one side is zero.
    """
    periods = {"current": current, "previous": previous}
    columns = []
    for name, (start, end) in periods.items():
        in_period = F.col("day").between(F.lit(start), F.lit(end))
        days = (end - start).days + 1
        columns += [
            F.lit(start).alias(f"{name}_start"), F.lit(end).alias(f"{name}_end"),
            F.coalesce(F.sum(F.when(in_period, F.col("flows"))), F.lit(0)).alias(f"{name}_flows"),
            F.round(F.coalesce(F.sum(F.when(in_period, F.col("bytes"))), F.lit(0)) / days, 1)
            .alias(f"{name}_bytes_per_day"),
            F.round(F.coalesce(F.sum(F.when(in_period, F.col("flows"))), F.lit(0)) / (24.0 * days), 3)
            .alias(f"{name}_flows_per_hour"),
            F.round(F.coalesce(F.sum(F.when(in_period, F.col("peers"))), F.lit(0)) / days, 3)
            .alias(f"{name}_peers_per_day"),
            F.coalesce(F.sum(F.when(in_period & (F.col("role") == "pool"), F.col("flows"))), F.lit(0))
            .alias(f"{name}_pool_flows"),
        ]
    either = (F.col("day").between(F.lit(current[0]), F.lit(current[1]))
              | F.col("day").between(F.lit(previous[0]), F.lit(previous[1])))
    compared = (crypto_daily.where(either).groupBy("range_name", "internal_ip", "coin")
                .agg(*columns, F.min("day").alias("first_seen"), F.max("day").alias("last_seen")))
    return (compared
            .withColumn("volume_change", _change_verdict(F.col("current_bytes_per_day"),
                                                         F.col("previous_bytes_per_day"), tolerance))
            .withColumn("peer_rate_change", _change_verdict(F.col("current_peers_per_day"),
                                                            F.col("previous_peers_per_day"), tolerance)))
