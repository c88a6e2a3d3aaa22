"""Silver: bronze flows oriented, deduplicated, named, located and classified, per affected day.

Run it with `flowlake run --config C --stages silver` (after bronze), or as a Spark
application: `spark-submit $(flowlake submit-args --config C) jobs/run_stage.py --stage silver --config C`.

Extract finds the days bronze changed since the last silver run (Delta's change data feed on
bronze.flows and bronze.dns, from the versions silver recorded) and reads those days only.
Transform is the chain orient -> deduplicate -> sampling estimates -> passive-DNS names ->
geography -> classify, each a pure function of DataFrames (flowlake.silver.*). Validate runs
the silver.flows suite. Load replaces exactly those days of silver.flows in one Delta commit
(`replaceWhere day IN ...`), then records the bronze versions read, the catalog version, the
geo source and the ASN database's version on the table. A crash before that last step
re-runs the same days to the same rows. A backlog of days goes through transform, validate
and load in batches of at most silver.batch_rows bronze flows (a day whole), each its own
commit, so the driver's heap holds one batch.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import date, datetime

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from flowlake.config import Config
from flowlake.progress import Progress
from flowlake.stages import BRONZE_DNS, BRONZE_FLOWS, SILVER_FLOWS
from flowlake.quality import check_table, import_in_background
from flowlake.silver.service_catalog import UNCLASSIFIED, Catalog, configured_catalog
from flowlake.silver.classify import (
    address_profiles, agreed_hostnames, ambiguous_name, classified_flows, hostname_profiles,
)
from flowlake.silver.dedup import deduplicated_flows
from flowlake.silver.geo import address_locations, asn_version, geo_version
from flowlake.silver.hostnames import dns_by_day, flows_with_dns_names, record_days
from flowlake.silver.orient import monitored_addresses, oriented_flows, range_prefixes
from flowlake.silver.sampling import estimated_counts, sampled
from flowlake.tables import (
    PROPERTY_PREFIX, batches_by_size, changed_days, day_list, set_properties, table_exists, table_line,
    table_properties, table_version,
)

SILVER_COLUMNS = [
    "ts", "day", "range_name", "internal_ip", "remote_ip", "remote_port", "protocol", "direction", "bytes",
    "packets", "hostname", "remote_country", "service", "category", "local_resource_kind", "crypto_coin",
    "crypto_role", "source_object",
    # beyond the contract: what gold's evidence and audits need
    "ts_end", "internal_port", "local_resource_domain", "local_resource_country", "exporter", "sampling_rate",
    "line_number",
    # who sent the kept record, the counts before sampling estimates, how many names the address had
    "record_from", "raw_bytes", "raw_packets", "flows", "dns_names",
    # the exporter's TCP flags, and whether they or the ports decided the direction
    "tcp_flags", "direction_from",
    "remote_asn", "remote_as_name",
]


@dataclass(frozen=True)
class Coverage:
    """How much of silver's bytes (estimates) rest on guesses: the coverage figures."""

    bytes: int = 0
    unclassified_bytes: int = 0
    ambiguous_bytes: int = 0
    estimated_bytes: int = 0

    def line(self) -> str:
        def share(part: int) -> str:
            return f"{part / self.bytes:.1%}" if self.bytes else "-"

        return (f"of {self.bytes:,} bytes: {share(self.unclassified_bytes)} unclassified, "
                f"{share(self.ambiguous_bytes)} on ambiguous passive-DNS names, "
                f"{share(self.estimated_bytes)} estimated from sampled exporters")


@dataclass(frozen=True)
class SilverResult:
    days: int = 0
    bronze_flows: int = 0
    unmonitored_dropped: int = 0
    duplicates_dropped: int = 0
    silver_rows: int = 0
    coverage: Coverage = Coverage()


def silver_totals(silver: DataFrame) -> DataFrame:
    """One row: silver's row count and its coverage figures, in one pass over the rows."""
    def bytes_where(condition):
        return F.coalesce(F.sum(F.when(condition, F.col("bytes"))), F.lit(0))

    return silver.agg(F.count(F.lit(1)).alias("rows"), F.coalesce(F.sum("bytes"), F.lit(0)).alias("bytes"),
                      bytes_where(F.col("service") == UNCLASSIFIED).alias("unclassified_bytes"),
                      bytes_where(ambiguous_name()).alias("ambiguous_bytes"),
                      bytes_where(sampled()).alias("estimated_bytes"))


def monitored_flows(spark: SparkSession, flows: DataFrame, config: Config, catalog: Catalog) -> DataFrame:
    """Bronze flows that touch a monitored range, oriented by who started them."""
    if "tcp_flags" not in flows.columns:  # bronze written before flags were read (2026-11-30)
        flows = flows.withColumn("tcp_flags", F.lit(None).cast("int"))
    monitored = monitored_addresses(flows, config.monitored_ranges, range_prefixes(spark, config.monitored_ranges))
    return oriented_flows(flows, monitored, catalog.service_ports())


def enrichment_profiles(spark: SparkSession, named: DataFrame, config: Config,
                        catalog: Catalog) -> tuple[DataFrame, DataFrame]:
    """What the catalog's rules say of each distinct hostname of the named flows, and what the
    rules and the geography say of each distinct remote address: (hostnames, addresses)."""
    locations = address_locations(named, "remote_ip", config.silver.geo_source, catalog.as_numbers())
    names = hostname_profiles(named.select(F.explode("dns_candidates").alias("hostname")), catalog.domain_rules(spark))
    return names, address_profiles(named, catalog.prefix_rules(spark), catalog.asn_rules(spark), locations)


def enriched_flows(spark: SparkSession, named: DataFrame, names: DataFrame, addresses: DataFrame,
                   catalog: Catalog) -> DataFrame:
    """Named flows located and classified by their profiles (`enrichment_profiles`): silver's rows."""
    return classified_flows(
        agreed_hostnames(named, names), names, addresses,
        catalog.port_rules(spark), catalog.crypto_port_rules(spark), catalog.stratum_ports(), catalog.pool_web_ports(),
    ).select(*SILVER_COLUMNS)


def rebuild_days(spark: SparkSession, config: Config, catalog: Catalog, paths: dict[str, str], has_dns: bool,
                 days: list[date], bronze_rows: int, progress: Progress) -> SilverResult:
    """Transform, validate and load `days` of silver.flows from bronze (`bronze_rows` flows), in one commit."""
    silver_path = config.table_uri(*SILVER_FLOWS)
    with progress.stage("transform") as stage:
        flows = spark.read.format("delta").load(paths["flows"]).where(f"day IN ({day_list(days)})")
        dns = (spark.read.format("delta").load(paths["dns"])
               .where(F.to_date("time_last") >= min(days)).where(F.to_date("time_first") <= max(days))
               if has_dns else spark.createDataFrame([], "rdata string, rrname string, rrtype string, "
                                                        "time_first timestamp, time_last timestamp"))
        # The one shuffle of every flow: by day. Deduplication's window takes it as it is (the day is
        # among its keys), every later join is a broadcast, so each day of silver is written
        # from one partition, as one file (a file per day and partition made gold read four
        # times the files, BENCHMARKS.md).
        oriented = monitored_flows(spark, flows, config, catalog).repartition("day")
        deduplicated = estimated_counts(deduplicated_flows(oriented))
        dns_days = dns_by_day(dns).where(F.col("day").isin(*days))  # a record's other days name no flow here
        # The enrichment reads the named flows four times (hostname profiles, address profiles,
        # countries, the flows themselves): kept, so bronze is read, oriented and deduplicated
        # once, not four times (BENCHMARKS.md, 20 million flows). Each carries how many oriented
        # records it stood for, so they are counted without orienting bronze a second time.
        named = flows_with_dns_names(deduplicated, dns_days).persist(StorageLevel.MEMORY_AND_DISK)
        oriented_rows = named.agg(F.sum("records")).first()[0] or 0
        # The profiles kept and counted, so the planner knows their size: where they fit Spark's
        # broadcast threshold the flows are not shuffled to be joined to them.
        profiles = [profile.persist() for profile in enrichment_profiles(spark, named, config, catalog)]
        for profile in profiles:
            profile.count()
        silver = enriched_flows(spark, named, *profiles, catalog).persist(StorageLevel.MEMORY_AND_DISK)
        totals = silver_totals(silver).first().asDict()
        silver_rows = totals.pop("rows")
        stage.done(rows=bronze_rows)

    try:
        with progress.stage("validate") as stage:
            check_table(silver, "silver.flows", silver_rows, config.quality.driver_max_rows)
            stage.done(rows=silver_rows)

        with progress.stage("load") as stage:
            (silver.write.format("delta").mode("overwrite").partitionBy("day")
             .option("replaceWhere", f"day IN ({day_list(days)})").save(silver_path))
            stage.done(rows=silver_rows)
    finally:
        for kept in (silver, *profiles, named):
            kept.unpersist()
    return SilverResult(days=len(days), bronze_flows=bronze_rows, unmonitored_dropped=bronze_rows - oriented_rows,
                        duplicates_dropped=oriented_rows - silver_rows, silver_rows=silver_rows,
                        coverage=Coverage(**totals))


def added(a: SilverResult, b: SilverResult) -> SilverResult:
    """Two batches' results as one."""
    return SilverResult(*(x + y for x, y in zip(astuple(a)[:-1], astuple(b)[:-1])),
                        coverage=Coverage(*(x + y for x, y in zip(astuple(a.coverage), astuple(b.coverage)))))


def run_silver(spark: SparkSession, config: Config, run_time: datetime, progress: Progress,
               window: tuple[date, date] | None = None) -> SilverResult:
    """Rebuild the days bronze changed since the last run; only those from window[0] to
    window[1] when given (a what-if rebuild of a few days, `flowlake.whatif`). A backlog is
    rebuilt in batches of consecutive days of at most silver.batch_rows bronze flows, each its own
    commit; the bronze versions read are recorded once every batch is loaded, so a crash between
    batches rebuilds them all again, to the same rows."""
    paths = {table.name: config.table_uri(*table) for table in (BRONZE_FLOWS, BRONZE_DNS)}
    silver_path = config.table_uri(*SILVER_FLOWS)
    catalog = configured_catalog(config.silver.catalog)
    done = table_properties(spark, silver_path)

    def since(table):
        value = done.get(f"{PROPERTY_PREFIX}bronze_{table}_version")
        return int(value) if value is not None else None

    with progress.stage("find changed days") as stage:
        versions = {t: table_version(spark, p) for t, p in paths.items() if table_exists(spark, p)}
        days = changed_days(spark, paths["flows"], since("flows"), versions.get("flows"), F.col("day"), progress.say)
        days |= changed_days(spark, paths["dns"], since("dns"), versions.get("dns"), record_days(), progress.say)
        if window:
            days = {d for d in days if window[0] <= d <= window[1]}
        stage.done(rows=len(days))
    if not days:
        progress.say("bronze has not changed since the last silver run")
        return SilverResult()
    progress.say(f"{len(days)} days to rebuild, {min(days)} .. {max(days)}")
    import_in_background()  # for the gate, while the days are transformed

    # Counted per day (the count each batch reports): the batches are cut by it.
    rows_by_day = {r.day: r["count"] for r in spark.read.format("delta").load(paths["flows"])
                   .where(f"day IN ({day_list(days)})").groupBy("day").count().collect()}
    batches = batches_by_size([(day, rows_by_day.get(day, 0)) for day in days], config.silver.batch_rows)
    result = SilverResult()
    for number, batch in enumerate(batches, 1):
        if len(batches) > 1:
            progress.say(f"batch {number} of {len(batches)}: {len(batch)} days, {batch[0]} .. {batch[-1]}")
        result = added(result, rebuild_days(spark, config, catalog, paths, "dns" in versions, batch,
                                            sum(rows_by_day.get(day, 0) for day in batch), progress))

    properties = {
        "catalog_version": catalog.version, "psl_version": catalog.public_suffixes.version,
        "geo_source": config.silver.geo_source,
        "geo_version": geo_version(config.silver.geo_source), "asn_version": asn_version(),
        **{f"bronze_{t}_version": str(v) for t, v in versions.items()},
    }
    set_properties(spark, silver_path, properties)
    return result


def summary_lines(spark: SparkSession, config: Config, result: SilverResult) -> list[str]:
    path = config.table_uri(*SILVER_FLOWS)
    properties = table_properties(spark, path)
    return [f"silver: {result.days} days rebuilt from {result.bronze_flows:,} bronze flows: "
            f"{result.unmonitored_dropped:,} touched no monitored range, {result.duplicates_dropped:,} duplicates",
            table_line("silver.flows", result.silver_rows, path),
            f"  coverage of the days rebuilt, {result.coverage.line()}",
            f"  catalog {properties.get(PROPERTY_PREFIX + 'catalog_version')}, "
            f"public suffix list {properties.get(PROPERTY_PREFIX + 'psl_version')}, "
            f"geo {properties.get(PROPERTY_PREFIX + 'geo_version')}, "
            f"ASN {properties.get(PROPERTY_PREFIX + 'asn_version')}"]
