"""Hostnames: the names a flow's remote address had at the flow's time, from passive DNS.

A DNS record (rrname -> rdata, seen from time_first to time_last) names a flow's remote
address when rdata is that address and time_first <= ts <= time_last. A shared address (a CDN
edge, a shared web host) has several such names at once, and nothing in the flow says which
one it served: `flows_with_dns_names` keeps them all, as `dns_candidates`, and their number,
`dns_names`. Which of them names the flow is decided by classification
(`flowlake.silver.classify.agreed_hostnames`): one only when every candidate means the same.
The candidates are ordered most specific first (the narrowest validity window), then the most
recent (latest time_first), then by name, so any choice among them is repeatable. Records are
spread over the days they cover, so the join is on (address, day) and never compares a flow
with a record from another month.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

ADDRESS_TYPES = ("A", "AAAA")
MAX_RECORD_DAYS = 400  # a record claiming a longer validity is spread over its last 400 days only


def record_days() -> Column:
    """The days a DNS record can name flows on: its validity, capped at MAX_RECORD_DAYS (exploded)."""
    last_day = F.to_date("time_last")
    first_day = F.greatest(F.to_date("time_first"), F.date_sub(last_day, MAX_RECORD_DAYS))
    return F.explode(F.sequence(first_day, last_day))


def dns_by_day(dns: DataFrame) -> DataFrame:
    """(remote_ip, day, rrname, time_first, time_last) for every day an address record covers."""
    return (dns.where(F.col("rrtype").isin(*ADDRESS_TYPES))
            .select(F.col("rdata").alias("remote_ip"), "rrname", "time_first", "time_last",
                    record_days().alias("day")))


def flows_with_dns_names(flows: DataFrame, dns_days: DataFrame) -> DataFrame:
    """`flows` plus `dns_candidates` (the names valid for the remote address at the flow's time,
    in preference order; null where none is) and `dns_names` (how many, 0 where none)."""
    # The records of each (address, day) as one array, joined to the flows on that key: each
    # flow finds at most one row, so the flows are neither grouped nor joined back, and where
    # passive DNS is small (the planner's broadcast threshold) they are not shuffled at all.
    record = F.struct((F.unix_micros("time_last") - F.unix_micros("time_first")).alias("width"),
                      (-F.unix_micros("time_first")).alias("recent"), "rrname", "time_first", "time_last")
    records = dns_days.groupBy("remote_ip", "day").agg(F.collect_list(record).alias("_records"))
    valid = F.filter("_records", lambda r: F.col("ts").between(r["time_first"], r["time_last"]))
    # Sorted by (width, recent, rrname): a name seen in two records of the address counts once.
    names = F.array_distinct(F.transform(F.array_sort(valid), lambda r: r["rrname"]))
    return (flows.join(records, ["remote_ip", "day"], "left")
            .withColumn("dns_candidates", F.when(F.size(names) > 0, names))
            # size(null) is -1 or null depending on the session's ANSI setting: say 0 ourselves.
            .withColumn("dns_names", F.when(F.col("dns_candidates").isNull(), 0).otherwise(F.size("dns_candidates")))
            .drop("_records"))
