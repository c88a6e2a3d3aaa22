"""Hostnames: the name a flow's remote address had at the flow's time, from passive DNS.

A DNS record (rrname -> rdata, seen from time_first to time_last) names a flow's remote
address when rdata is that address and time_first <= ts <= time_last. Where several do, the
most specific wins (the narrowest validity window), then the most recent (latest time_first),
then the first name in order, so the choice is repeatable. Records are spread over the days
they cover, so the join is on (address, day) and never compares a flow with a record from
another month.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
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


def flows_with_hostnames(flows: DataFrame, dns_days: DataFrame) -> DataFrame:
    """`flows` plus `hostname` (null where no record names the remote address at that time)."""
    flow_id = ("source_object", "line_number")
    candidates = (flows.select(*flow_id, "remote_ip", "day", "ts")
                  .join(dns_days, ["remote_ip", "day"])
                  .where(F.col("ts").between(F.col("time_first"), F.col("time_last"))))
    best = Window.partitionBy(*flow_id).orderBy(
        (F.unix_micros("time_last") - F.unix_micros("time_first")).asc(), F.col("time_first").desc(), "rrname")
    names = (candidates.withColumn("_rank", F.row_number().over(best)).where("_rank = 1")
             .select(*flow_id, F.col("rrname").alias("hostname")))
    return flows.join(names, list(flow_id), "left")
