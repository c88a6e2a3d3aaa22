"""Gold aggregates: pure functions from silver rows to the gold tables.

Every figure counts silver's sampling estimates (`flows`, `bytes`, `packets`: a record of a
1:N sampled exporter stands for N flows), and usage, category and country figures count only
what the monitored hosts started (`direction` outbound or internal, see `started_inside`);
what remote hosts started toward them is `served_daily`, apart.

- `service_usage_daily`: per day, range, service and category: flows, bytes, packets, hosts,
  and how many of the bytes are estimated from sampling or rest on an ambiguous name
  (`estimated_bytes`, `ambiguous_bytes`: the reports' coverage figures).
- `served_daily`: per day, range, monitored host, its serving port and protocol, and the
  remote country: the flows, bytes and distinct remote addresses that reached it.
- `country_activity_daily`: per day, range and country: flows, bytes, remote addresses, hosts,
  local-resource flows and domains. A local resource counts for the country it belongs to
  (its ccTLD or the catalog's word), any other flow for the country of its remote address.
- `crypto_activity_daily`: per day, range, internal host, coin and role of the hosts that mine
  that coin that day (`mining_days`: long or recurring stratum sessions to a pool, or the p2p
  port to many peers): flows, bytes, distinct peers, flows per hour (flows over the 24 hours of
  the day) and the evidence of the rule.
- `crypto_contacts_daily`: the same day, range, host and coin's crypto flows of every host that
  does not meet the rule, by kind (pool, pool_web, p2p, rpc): flows, bytes, remote addresses.
  Every crypto flow of silver is in exactly one of the two tables.
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

from flowlake.silver.classify import ambiguous_name
from flowlake.silver.sampling import sampled


def started_inside(silver: DataFrame) -> DataFrame:
    """The rows the monitored hosts started: their use of services, categories and countries."""
    return silver.where(F.col("direction") != "inbound")


def service_usage_daily(silver: DataFrame) -> DataFrame:
    return (started_inside(silver).groupBy("day", "range_name", "service", "category")
            .agg(F.sum("flows").alias("flows"), F.sum("bytes").alias("bytes"), F.sum("packets").alias("packets"),
                 F.countDistinct("internal_ip").alias("hosts"),
                 F.coalesce(F.sum(F.when(sampled(), F.col("bytes"))), F.lit(0))
                 .alias("estimated_bytes"),
                 F.coalesce(F.sum(F.when(ambiguous_name(), F.col("bytes"))), F.lit(0)).alias("ambiguous_bytes")))


def served_daily(silver: DataFrame) -> DataFrame:
    return (silver.where(F.col("direction") == "inbound")
            .groupBy("day", "range_name", "internal_ip", "internal_port", "protocol", "remote_country")
            .agg(F.sum("flows").alias("flows"), F.sum("bytes").alias("bytes"), F.sum("packets").alias("packets"),
                 F.countDistinct("remote_ip").alias("remote_ips")))


def activity_country():
    """The country a flow's activity counts for: a local resource's own, else the address's."""
    return F.coalesce("local_resource_country", "remote_country")


def country_activity_daily(silver: DataFrame) -> DataFrame:
    local = F.col("local_resource_kind").isNotNull()
    return (started_inside(silver).withColumn("country", activity_country()).where("country IS NOT NULL")
            .groupBy("day", "range_name", "country")
            .agg(F.sum("flows").alias("flows"), F.sum("bytes").alias("bytes"),
                 F.countDistinct("remote_ip").alias("remote_ips"),
                 F.coalesce(F.sum(F.when(local, F.col("flows"))), F.lit(0)).alias("local_resource_flows"),
                 F.countDistinct(F.when(local, F.col("local_resource_domain"))).alias("local_resource_domains"),
                 F.countDistinct("internal_ip").alias("hosts")))


@dataclass(frozen=True)
class MiningRule:
    """When a host mines a coin on a day (config `gold.mining_*`, README "Mining rule")."""

    min_pool_hours: int = 18  # distinct hours of the UTC day with a stratum session to a pool open
    min_p2p_peers: int = 8  # distinct remote addresses on the coin's p2p port


MINING_KEYS = ("day", "range_name", "internal_ip", "coin")


def _hour_of_day(instant: Column) -> Column:
    """0-23: the hour of the row's `day` an instant falls in, clamped to the day (UTC, whatever
    the session's timezone)."""
    seconds = F.unix_seconds(instant) - F.unix_date(F.col("day")).cast("long") * 86400
    return F.least(F.greatest(F.floor(seconds / 3600), F.lit(0)), F.lit(23)).cast("int")


def mining_days(silver: DataFrame, rule: MiningRule) -> DataFrame:
    """Per day, range, host and coin that meets the mining rule: pool_hours, p2p_peers, evidence.

    Only flows the monitored host started count (a peer or scanner reaching it says nothing
    about what it runs). `pool_hours` is the distinct hours of the day in which a stratum
    session to a pool (`role = 'pool'`, never a pool's web site) was open, from its start to
    its end, so one session lasting hours counts each of them; `p2p_peers` is the distinct
    remote addresses on the coin's p2p port. A host mines when pool_hours >= min_pool_hours
    or p2p_peers >= min_p2p_peers.
    """
    started = started_inside(silver).where("crypto_coin IS NOT NULL")
    role = F.col("crypto_role")
    end = F.greatest(F.col("ts"), F.coalesce(F.col("ts_end"), F.col("ts")))
    open_hours = F.when(role == "pool", F.sequence(_hour_of_day(F.col("ts")), _hour_of_day(end)))
    evidence = (started.groupBy("day", "range_name", "internal_ip", F.col("crypto_coin").alias("coin"))
                .agg(F.size(F.array_distinct(F.flatten(F.collect_list(open_hours)))).alias("pool_hours"),
                     F.countDistinct(F.when(role == "p2p", F.col("remote_ip"))).alias("p2p_peers")))
    by_pool = F.col("pool_hours") >= rule.min_pool_hours
    by_p2p = F.col("p2p_peers") >= rule.min_p2p_peers
    return (evidence.where(by_pool | by_p2p)
            .withColumn("evidence", F.concat_ws(
                "; ",
                F.when(by_pool, F.format_string("stratum to a pool open in %d of 24 hours", F.col("pool_hours"))),
                F.when(by_p2p, F.format_string("p2p port to %d distinct peers", F.col("p2p_peers"))))))


def _crypto_flows(silver: DataFrame, rule: MiningRule) -> DataFrame:
    """Silver's crypto flows with the day's mining evidence of their host and coin (null when
    the host does not mine that coin that day)."""
    crypto = silver.where("crypto_coin IS NOT NULL").withColumnRenamed("crypto_coin", "coin")
    return crypto.join(mining_days(silver, rule), list(MINING_KEYS), "left")


def crypto_activity_daily(silver: DataFrame, rule: MiningRule) -> DataFrame:
    """Per day, range, mining host, coin and role: flows, bytes, peers, flows per hour, evidence.

    A host's row holds all its flows of the coin that day, inbound ones too, so that every
    crypto flow is either here or in `crypto_contacts_daily`.
    """
    return (_crypto_flows(silver, rule).where("evidence IS NOT NULL")
            .groupBy(*MINING_KEYS, F.col("crypto_role").alias("role"))
            .agg(F.sum("flows").alias("flows"), F.sum("bytes").alias("bytes"),
                 F.countDistinct("remote_ip").alias("peers"), F.max("pool_hours").alias("pool_hours"),
                 F.max("p2p_peers").alias("p2p_peers"), F.max("evidence").alias("evidence"))
            .withColumn("flows_per_hour", F.round(F.col("flows") / F.lit(24.0), 3))
            .select(*MINING_KEYS, "role", "flows", "bytes", "peers", "flows_per_hour", "pool_hours", "p2p_peers",
                    "evidence"))


def crypto_contacts_daily(silver: DataFrame, rule: MiningRule) -> DataFrame:
    """Per day, range, host, coin and kind (pool, pool_web, p2p, rpc) of the hosts that do not
    mine that coin that day: flows, bytes and distinct remote addresses."""
    return (_crypto_flows(silver, rule).where("evidence IS NULL")
            .groupBy(*MINING_KEYS, F.col("crypto_role").alias("kind"))
            .agg(F.sum("flows").alias("flows"), F.sum("bytes").alias("bytes"),
                 F.countDistinct("remote_ip").alias("remote_ips")))


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


def _counted_for_presence(silver: DataFrame, rule: PresenceRule, excluded_services: list[str]) -> DataFrame:
    """The silver rows overseas presence counts, each with the `country` its activity counts
    for (see `overseas_presence`)."""
    local = F.col("local_resource_kind").isNotNull()
    platform = F.col("category").isin(*rule.excluded_categories) | F.col("service").isin(*excluded_services)
    return (silver.where(F.col("direction") == "outbound")
            .where(local | ~platform)
            .withColumn("country", activity_country()).where("country IS NOT NULL"))


def presence_activity(silver: DataFrame, period_start: date, period_end: date, rule: PresenceRule,
                      excluded_services: list[str]) -> DataFrame:
    """The silver rows of [period_start, period_end] that overseas presence counts, each with
    the `country` its activity counts for (see `overseas_presence`)."""
    return _counted_for_presence(silver.where(F.col("day").between(F.lit(period_start), F.lit(period_end))),
                                 rule, excluded_services)


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
    period = (presence_activity(silver, period_start, period_end, rule, excluded_services)
              .withColumn("period_start", F.lit(period_start)).withColumn("period_end", F.lit(period_end)))
    return _presence_by_period(period, rule)


def monthly_presence(silver: DataFrame, rule: PresenceRule, excluded_services: list[str]) -> DataFrame:
    """`overseas_presence` of every calendar month `silver` holds, in one pass over it."""
    period = (_counted_for_presence(silver, rule, excluded_services)
              .withColumn("period_start", F.trunc("day", "month")).withColumn("period_end", F.last_day("day")))
    return _presence_by_period(period, rule)


def _presence_by_period(period: DataFrame, rule: PresenceRule) -> DataFrame:
    """`overseas_presence` per period_start and period_end of the counted rows `period`."""
    own_local = F.col("local_resource_country") == F.col("country")
    per_country = period.groupBy("period_start", "period_end", "country").agg(
        F.sum("bytes").alias("bytes"), F.sum("flows").alias("flows"), F.countDistinct("internal_ip").alias("hosts"),
        F.countDistinct(F.when(own_local, F.col("local_resource_domain"))).alias("local_domains"),
        F.countDistinct(F.when(own_local, F.col("day"))).alias("local_days"),
        F.countDistinct(F.when(own_local, F.col("internal_ip"))).alias("local_hosts"))
    in_period = Window.partitionBy("period_start")
    ratio = sum(F.col(m) / F.avg(m).over(in_period) for m in ("bytes", "flows", "hosts")) / 3
    top_domains = (period.where(own_local)
                   .groupBy("period_start", "country", "local_resource_domain").agg(F.sum("flows").alias("n"))
                   .withColumn("rank", F.row_number().over(
                       Window.partitionBy("period_start", "country").orderBy(F.col("n").desc(), "local_resource_domain")))
                   .where(F.col("rank") <= rule.evidence_domains)
                   .groupBy("period_start", "country").agg(F.array_join(F.transform(
                       F.array_sort(F.collect_list(F.struct("rank", "local_resource_domain", "n"))),
                       lambda x: F.concat(x["local_resource_domain"], F.lit(" ("), x["n"].cast("string"), F.lit(")"))),
                       ", ").alias("evidence")))
    flagged = ((F.col("activity_ratio") >= rule.min_activity_ratio)
               & (F.col("local_domains") >= rule.min_local_domains)
               & (F.col("local_days") >= rule.min_days) & (F.col("local_hosts") >= rule.min_hosts))
    return (per_country.withColumn("activity_ratio", F.round(ratio, 4))
            .join(top_domains, ["period_start", "country"], "left")
            .select("period_start", "period_end", "country",
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
