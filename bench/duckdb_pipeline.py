"""DuckDB baselines for `make bench` (bench/raw_to_gold.py): the same raw files, the same work, in SQL.

Run as its own process, timed whole by the benchmark (DuckDB's and Python's start included):
    .venv/bin/python bench/duckdb_pipeline.py parse --config C --out DIR
    .venv/bin/python bench/duckdb_pipeline.py pipeline --config C --out DIR
It prints one JSON line of row counts.

`parse` is the baseline for bronze: every raw object read typed (nfdump CSV, GoFlow2 JSON,
passive-DNS JSON, gzip), flows in bronze's form (UTC instants, protocol numbers, TCP flag
bitmasks, sampling rates) and written as Parquet, one file per format.

`pipeline` is the baseline for raw -> gold: the same read, then silver's logic in SQL and two
gold tables written as Parquet under DIR/service_usage_daily and DIR/country_activity_daily:
  - orientation (flowlake.silver.orient): monitored ranges by longest prefix, TCP flags first,
    then the port ranks (well-known, the catalog's service ports, lower port, destination);
  - deduplication (silver.dedup): one record per unordered endpoint pair, protocol and start
    second, preferring flags, then the client's record, then the largest;
  - sampling estimates (silver.sampling);
  - passive-DNS names (silver.hostnames, classify.agreed_hostnames): the names an address had
    at the flow's time; several count only when every one has the same profile;
  - classification (silver.classify) by the catalog's own rule tables (Catalog.*_rules, with
    a stand-in for Spark's createDataFrame that keeps the rows): domain suffix, prefix, AS,
    port, crypto ports and pools, local resources and their countries;
  - geography: country and AS of each distinct remote address with silver's lookups
    (flowlake.silver.geo), run in this process and counted in the time;
  - gold.service_usage_daily and gold.country_activity_daily (flowlake.gold.aggregates).
What is reduced, against flowlake: the format is told by the generator's layout (`*.csv.gz`
nfdump, `dns/` passive DNS, other `*.json.gz` GoFlow2), not detected from the first lines; bad
lines are skipped (`ignore_errors`), not quarantined, and bronze's record checks (an end before
the start, days far from the dump's) are not made; only IPv4 addresses are matched against
prefixes (monitored ranges and catalog prefixes; the generator writes no IPv6); a DNS record's
400-day cap is not applied; ties left after bytes in deduplication are broken by the object's
name, then arbitrarily (bronze's line numbers are not kept); no suite validates the rows.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import duckdb
import pyarrow as pa

from flowlake.config import load_config, source_for
from flowlake.readers.delimited import NFDUMP_V1
from flowlake.readers.fields import NFDUMP_PROTOCOL_NAMES, PROTOCOL_NUMBERS, TCP_FLAG_BITS
from flowlake.silver.classify import GENERIC_TLDS_OF_TWO_LETTERS
from flowlake.silver.hostnames import ADDRESS_TYPES
from flowlake.silver.orient import SYN, ACK, TCP, WELL_KNOWN_PORTS, range_prefixes
from flowlake.silver.service_catalog import UNCLASSIFIED, configured_catalog

NFDUMP_TYPES = {"ts": "TIMESTAMP", "te": "TIMESTAMP", "td": "DOUBLE", "sp": "INTEGER", "dp": "INTEGER",
                "ipkt": "BIGINT", "ibyt": "BIGINT", "opkt": "BIGINT", "obyt": "BIGINT"}
GOFLOW2_COLUMNS = {"type": "VARCHAR", "sampling_rate": "INTEGER", "sampler_address": "VARCHAR",
                   "time_flow_start_ns": "BIGINT", "time_flow_end_ns": "BIGINT", "bytes": "BIGINT",
                   "packets": "BIGINT", "src_addr": "VARCHAR", "dst_addr": "VARCHAR", "etype": "VARCHAR",
                   "proto": "VARCHAR", "src_port": "INTEGER", "dst_port": "INTEGER", "tcp_flags": "INTEGER"}
PDNS_COLUMNS = {"rrname": "VARCHAR", "rrtype": "VARCHAR", "rdata": "VARCHAR", "time_first": "BIGINT",
                "time_last": "BIGINT", "count": "BIGINT"}
GOLD_TABLES = ("service_usage_daily", "country_activity_daily")


class RuleRows:
    """Stands in for a SparkSession where the catalog builds its rule tables: keeps the rows and
    the column names, so this script joins the very rows silver joins."""

    def createDataFrame(self, rows, schema):  # noqa: N802 (Spark's name)
        names = schema.fieldNames() if hasattr(schema, "fieldNames") else [c.split()[0] for c in schema.split(",")]
        columns = list(zip(*rows)) if rows else [[] for _ in names]
        return pa.table({name: pa.array(list(values)) if values else pa.array([], pa.string())
                         for name, values in zip(names, columns)})


def raw_objects(config) -> dict[tuple[str, str, int | None], list[str]]:
    """(format, timezone, config sampling rate) -> the raw objects' paths, by the generator's layout."""
    raw = Path(config.raw_uri.removeprefix("file://"))
    groups = defaultdict(list)
    for path in sorted(raw.rglob("*.gz")):
        key = path.relative_to(raw).as_posix()
        source = source_for(config.sources, key)
        fmt = "nfdump" if key.endswith(".csv.gz") else "pdns" if key.startswith("dns/") else "goflow2"
        groups[(fmt, source.timezone, source.sampling_rate)].append(str(path))
    return groups


def flag_bits(letters: str) -> str:
    """SQL: the TCP flag bitmask of nfdump's letters (`.AP.SF`), or the number it printed."""
    bits = " + ".join(f"CASE WHEN contains({letters}, '{letter}') THEN {bit} ELSE 0 END"
                      for letter, bit in TCP_FLAG_BITS.items())
    return f"coalesce(try_cast({letters} AS INTEGER), {bits})"


def typed_views(con: duckdb.DuckDBPyConnection, config) -> None:
    """Views nfdump_flows, goflow2_flows (bronze's flow columns) and pdns (bronze's DNS columns)."""
    names = {name.lower(): number for number, name in enumerate(NFDUMP_PROTOCOL_NAMES)} | PROTOCOL_NUMBERS
    con.register("protocols", pa.table({"name": list(names), "number": list(names.values())}))
    nfdump_columns = {c: NFDUMP_TYPES.get(c, "VARCHAR") for c in NFDUMP_V1.header}
    parts = defaultdict(list)
    for (fmt, timezone, rate), files in raw_objects(config).items():
        rate_sql = "NULL" if rate is None else str(rate)
        if fmt == "nfdump":
            # nfdump prints the exporter's local time; ignore_errors drops its Summary trailer.
            parts[fmt].append(
                f"SELECT timezone('{timezone}', ts)::TIMESTAMP AS ts, timezone('{timezone}', te)::TIMESTAMP AS ts_end,"
                f" sa AS src_ip, da AS dst_ip, sp AS src_port, dp AS dst_port,"
                f" coalesce(try_cast(pr AS INTEGER), p.number) AS protocol, {flag_bits('flg')} AS tcp_flags,"
                f" ibyt AS bytes, ipkt AS packets, {rate_sql}::INTEGER AS sampling_rate, filename AS source_object"
                f" FROM read_csv({files}, header=true, delim=',', quote='', columns={nfdump_columns},"
                f" ignore_errors=true, filename=true) LEFT JOIN protocols p ON lower(pr) = p.name")
        elif fmt == "goflow2":
            parts[fmt].append(
                f"SELECT make_timestamp(time_flow_start_ns // 1000) AS ts, make_timestamp(time_flow_end_ns // 1000)"
                f" AS ts_end, src_addr AS src_ip, dst_addr AS dst_ip, src_port, dst_port,"
                f" coalesce(try_cast(proto AS INTEGER), p.number) AS protocol, tcp_flags, bytes, packets,"
                # GoFlow2 writes 0 when the exporter did not say: the source's rate then.
                f" CASE WHEN sampling_rate > 0 THEN sampling_rate ELSE {rate_sql} END::INTEGER AS sampling_rate,"
                f" filename AS source_object FROM read_json({files}, format='newline_delimited',"
                f" columns={GOFLOW2_COLUMNS}, ignore_errors=true, filename=true)"
                f" LEFT JOIN protocols p ON lower(proto) = p.name")
        else:
            parts[fmt].append(
                f"SELECT rtrim(lower(rrname), '.') AS rrname, upper(rrtype) AS rrtype, rtrim(lower(rdata), '.') AS rdata,"
                f" make_timestamp(time_first * 1000000) AS time_first, make_timestamp(time_last * 1000000) AS time_last,"
                f" coalesce(count, 1) AS count FROM read_json({files}, format='newline_delimited',"
                f" columns={PDNS_COLUMNS}, ignore_errors=true)")
    empty = {"nfdump": "SELECT NULL::TIMESTAMP ts, NULL::TIMESTAMP ts_end, NULL src_ip, NULL dst_ip, NULL::INTEGER"
                       " src_port, NULL::INTEGER dst_port, NULL::INTEGER protocol, NULL::INTEGER tcp_flags,"
                       " NULL::BIGINT bytes, NULL::BIGINT packets, NULL::INTEGER sampling_rate, NULL source_object"
                       " WHERE false",
             "pdns": "SELECT NULL rrname, NULL rrtype, NULL rdata, NULL::TIMESTAMP time_first,"
                     " NULL::TIMESTAMP time_last, NULL::BIGINT count WHERE false"}
    empty["goflow2"] = empty["nfdump"]
    for fmt, view in (("nfdump", "nfdump_flows"), ("goflow2", "goflow2_flows"), ("pdns", "pdns")):
        con.execute(f"CREATE VIEW {view} AS " + " UNION ALL ".join(parts[fmt] or [empty[fmt]]))


def parse(con: duckdb.DuckDBPyConnection, config, out: Path) -> dict:
    return {view: con.execute(f"COPY (SELECT * FROM {view}) TO '{out}/{view}.parquet'").fetchone()[0]
            for view in ("nfdump_flows", "goflow2_flows", "pdns")}


def register_rules(con: duckdb.DuckDBPyConnection, config, catalog) -> None:
    """The monitored ranges and the catalog's rule tables, as silver builds them."""
    rows = RuleRows()
    con.register("ranges", range_prefixes(rows, config.monitored_ranges))
    con.register("domain_rules", catalog.domain_rules(rows))
    con.register("prefix_rules", catalog.prefix_rules(rows))
    con.register("asn_rules", catalog.asn_rules(rows))
    con.register("port_rules", catalog.port_rules(rows))
    con.register("crypto_ports", catalog.crypto_port_rules(rows))


# silver.addresses' key for IPv4 ('4' + 8 hex digits): prefix tables compare keys as text.
IP_KEY = """CREATE MACRO ip_key(ip) AS CASE WHEN regexp_full_match(ip, '\\d{1,3}(\\.\\d{1,3}){3}') THEN
  printf('4%08x', (split_part(ip, '.', 1)::BIGINT << 24) + (split_part(ip, '.', 2)::BIGINT << 16)
                  + (split_part(ip, '.', 3)::BIGINT << 8) + split_part(ip, '.', 4)::BIGINT) END"""


def longest_prefix(addresses: str, rules: str, values: list[str]) -> str:
    """SQL: `ip` of `addresses` with the values of the longest prefix of `rules` holding it."""
    picks = ", ".join(f"arg_max(r.{v}, r.prefix_length) AS {v}" for v in values)
    return (f"SELECT a.ip, {picks} FROM (SELECT ip, ip_key(ip) AS key FROM {addresses}) a JOIN {rules} r"
            f" ON substr(a.key, 1, 5) = r.bucket AND a.key BETWEEN r.start_key AND r.end_key GROUP BY a.ip")


def silver_rows(con: duckdb.DuckDBPyConnection, config, catalog) -> int:
    """Table silver: the flows oriented, deduplicated, estimated, named, located and classified."""
    low, high = WELL_KNOWN_PORTS
    service_ports = catalog.service_ports()
    con.execute(IP_KEY)
    con.execute(f"CREATE MACRO port_rank(p) AS CASE WHEN p BETWEEN {low} AND {high} THEN 0"
                f" WHEN list_contains({service_ports}, p) THEN 1 ELSE 2 END")
    con.execute("CREATE TABLE flows AS SELECT * FROM nfdump_flows UNION ALL SELECT * FROM goflow2_flows")
    con.execute("CREATE TABLE monitored AS " + longest_prefix(
        "(SELECT src_ip AS ip FROM flows UNION SELECT dst_ip FROM flows)", "ranges", ["range_name"]))
    con.execute(f"""CREATE TABLE oriented AS
      WITH joined AS (
        SELECT f.*, s.range_name AS src_range, d.range_name AS dst_range,
               coalesce(protocol = {TCP} AND (tcp_flags & {SYN | ACK}) = {SYN}, false) AS by_flags
        FROM flows f LEFT JOIN monitored s ON f.src_ip = s.ip LEFT JOIN monitored d ON f.dst_ip = d.ip),
      served AS (
        SELECT *, NOT by_flags AND coalesce(port_rank(src_port) < port_rank(dst_port)
               OR (port_rank(src_port) = port_rank(dst_port) AND src_port < dst_port), false) AS src_serves
        FROM joined),
      directed AS (
        SELECT *, CASE WHEN (CASE WHEN src_serves THEN dst_range ELSE src_range END) IS NOT NULL
                        AND (CASE WHEN src_serves THEN src_range ELSE dst_range END) IS NOT NULL THEN 'internal'
                       WHEN (CASE WHEN src_serves THEN dst_range ELSE src_range END) IS NOT NULL THEN 'outbound'
                       WHEN (CASE WHEN src_serves THEN src_range ELSE dst_range END) IS NOT NULL THEN 'inbound'
                  END AS direction
        FROM served)
      SELECT ts, ts_end, ts::DATE AS day, protocol, bytes, packets, sampling_rate, source_object, direction,
             CASE WHEN inside_is_source THEN src_range ELSE dst_range END AS range_name,
             CASE WHEN inside_is_source THEN src_ip ELSE dst_ip END AS internal_ip,
             CASE WHEN inside_is_source THEN src_port ELSE dst_port END AS internal_port,
             CASE WHEN inside_is_source THEN dst_ip ELSE src_ip END AS remote_ip,
             CASE WHEN inside_is_source THEN dst_port ELSE src_port END AS remote_port,
             CASE WHEN by_flags THEN 'tcp_flags' ELSE 'ports' END AS direction_from,
             CASE WHEN src_serves THEN 'server' ELSE 'client' END AS record_from
      FROM (SELECT *, (direction = 'inbound') = src_serves AS inside_is_source FROM directed
            WHERE direction IS NOT NULL)""")
    con.execute("""CREATE TABLE named AS
      SELECT row_number() OVER () AS fid, * EXCLUDE (bytes, packets),
             bytes * rate AS bytes, packets * rate AS packets, rate AS flows, sampling_rate > 1 AS sampled
      FROM (SELECT *, CASE WHEN sampling_rate > 1 THEN sampling_rate ELSE 1 END::BIGINT AS rate FROM oriented
            QUALIFY row_number() OVER (
              PARTITION BY least(concat(internal_ip, '|', internal_port), concat(remote_ip, '|', remote_port)),
                           greatest(concat(internal_ip, '|', internal_port), concat(remote_ip, '|', remote_port)),
                           protocol, date_trunc('second', ts)
              ORDER BY direction_from = 'tcp_flags' DESC, record_from = 'client' DESC, bytes DESC, source_object) = 1)""")
    con.execute(f"""CREATE TABLE candidates AS
      SELECT n.fid, d.rrname, d.time_first, d.time_last FROM named n JOIN pdns d
        ON d.rdata = n.remote_ip AND n.ts BETWEEN d.time_first AND d.time_last
      WHERE d.rrtype IN {ADDRESS_TYPES}""")
    generic = tuple(GENERIC_TLDS_OF_TWO_LETTERS)
    con.execute(f"""CREATE TABLE profiles AS
      WITH suffixes AS (
        SELECT hostname, labels, i - 1 AS pos, array_to_string(labels[i:], '.') AS suffix
        FROM (SELECT hostname, labels, unnest(generate_series(1, len(labels))) AS i
              FROM (SELECT DISTINCT rrname AS hostname, string_split(rrname, '.') AS labels FROM candidates))),
      matched AS (
        SELECT s.hostname, s.labels, s.pos, r.*,
               -- under a registry suffix (ac.in) the organisation is one label longer (iitd.ac.in)
               CASE WHEN r.registry_suffix AND s.pos > 0 THEN array_to_string(s.labels[s.pos:], '.')
                    WHEN r.registry_suffix THEN s.hostname ELSE s.suffix END AS organisation
        FROM suffixes s JOIN domain_rules r USING (suffix)),
      longest AS (
        SELECT hostname,
               arg_min(service, pos) FILTER (WHERE service IS NOT NULL) AS domain_service,
               arg_min(category, pos) FILTER (WHERE category IS NOT NULL) AS domain_category,
               arg_min(pool_coin, pos) FILTER (WHERE pool_coin IS NOT NULL) AS pool_coin,
               arg_min(local_kind, pos) FILTER (WHERE local_kind IS NOT NULL) AS local_resource_kind,
               arg_min(organisation, pos) FILTER (WHERE local_kind IS NOT NULL) AS local_resource_domain,
               arg_min(local_country, pos) FILTER (WHERE local_country IS NOT NULL) AS listed_country,
               upper(list_last(any_value(labels))) AS tld
        FROM matched GROUP BY hostname)
      SELECT * EXCLUDE (listed_country, tld),
             CASE WHEN local_resource_kind IS NOT NULL THEN coalesce(listed_country,
               CASE WHEN length(tld) = 2 AND lower(tld) NOT IN {generic} THEN tld END) END AS local_resource_country
      FROM longest""")
    con.execute("""CREATE TABLE hostnames AS
      SELECT c.fid, count(DISTINCT c.rrname) AS dns_names,
             CASE WHEN count(DISTINCT c.rrname) = 1 OR count(DISTINCT (p.domain_service, p.domain_category, p.pool_coin,
                       p.local_resource_kind, p.local_resource_domain, p.local_resource_country)) = 1
                  THEN list(c.rrname ORDER BY c.time_last - c.time_first, c.time_first DESC, c.rrname)[1] END AS hostname
      FROM candidates c LEFT JOIN profiles p ON p.hostname = c.rrname GROUP BY c.fid""")
    remote = [row[0] for row in con.execute("SELECT DISTINCT remote_ip FROM named").fetchall()]
    con.register("locations", locations(remote, config.silver.geo_source, catalog.as_numbers()))
    con.execute("CREATE TABLE addresses AS SELECT l.*, p.prefix_service, p.prefix_category, a.asn_service,"
                " a.asn_category FROM locations l LEFT JOIN (" + longest_prefix(
                    "(SELECT remote_ip AS ip FROM locations)", "prefix_rules", ["prefix_service", "prefix_category"])
                + ") p ON p.ip = l.remote_ip LEFT JOIN asn_rules a ON a.asn_rule_asn = l.remote_asn")
    stratum, pool_web = catalog.stratum_ports(), catalog.pool_web_ports()
    con.execute(f"""CREATE TABLE silver AS
      WITH joined AS (
        SELECT n.*, coalesce(h.dns_names, 0) AS dns_names, h.hostname, p.* EXCLUDE (hostname), a.* EXCLUDE (remote_ip), pr.port_service, pr.port_category,
               cp.port_coin, cp.port_role,
               p.pool_coin IS NOT NULL AND list_contains({stratum}, n.remote_port) AS pool,
               p.pool_coin IS NOT NULL AND list_contains({pool_web}, n.remote_port) AS pool_web
        FROM named n LEFT JOIN hostnames h USING (fid) LEFT JOIN profiles p ON p.hostname = h.hostname
        LEFT JOIN addresses a ON a.remote_ip = n.remote_ip
        LEFT JOIN port_rules pr ON pr.port_rule_port = n.remote_port AND pr.port_rule_protocol = n.protocol
        -- Bitcoin's and Monero's p2p and rpc protocols run over TCP only.
        LEFT JOIN crypto_ports cp ON cp.crypto_port = n.remote_port AND n.protocol = {TCP}),
      coined AS (
        SELECT *, CASE WHEN pool OR pool_web THEN pool_coin ELSE port_coin END AS crypto_coin FROM joined)
      SELECT day, range_name, direction, internal_ip, remote_ip, flows, bytes, packets, sampled,
             dns_names > 1 AND hostname IS NULL AS ambiguous, remote_country, local_resource_kind,
             local_resource_domain,
             CASE WHEN local_resource_kind IS NOT NULL THEN coalesce(local_resource_country, remote_country) END
               AS local_resource_country,
             coalesce(crypto_coin, domain_service, prefix_service, asn_service, port_service, '{UNCLASSIFIED}')
               AS service,
             CASE WHEN crypto_coin IS NOT NULL THEN 'crypto'
                  ELSE coalesce(domain_category, prefix_category, asn_category, port_category, 'other') END AS category
      FROM coined""")
    return con.execute("SELECT count(*) FROM silver").fetchone()[0]


def locations(ips: list[str], source: str, as_numbers: dict[str, int]) -> pa.Table:
    """remote_ip, remote_country, remote_asn, remote_as_name: silver's lookups (flowlake.silver.geo)."""
    # silver's own lookup functions, not a copy, so the baseline locates addresses as silver does
    from flowlake.silver.geo import _lookup, as_names

    codes = [c if c and len(c) == 2 and c.isalpha() else None for c in _lookup(source)(ips)] if ips else []
    names = as_names(ips) if ips else []
    return pa.table({"remote_ip": pa.array(ips, pa.string()), "remote_country": pa.array(codes, pa.string()),
                     "remote_asn": pa.array([as_numbers.get(n) for n in names], pa.int64()),
                     "remote_as_name": pa.array(names, pa.string())})


GOLD_SQL = {
    # flowlake.gold.aggregates: usage and country figures count what the monitored hosts started.
    "service_usage_daily": """
      SELECT day, range_name, service, category, sum(flows) AS flows, sum(bytes) AS bytes, sum(packets) AS packets,
             count(DISTINCT internal_ip) AS hosts, coalesce(sum(bytes) FILTER (WHERE sampled), 0) AS estimated_bytes,
             coalesce(sum(bytes) FILTER (WHERE ambiguous), 0) AS ambiguous_bytes
      FROM silver WHERE direction != 'inbound' GROUP BY ALL""",
    "country_activity_daily": """
      SELECT day, range_name, country, sum(flows) AS flows, sum(bytes) AS bytes,
             count(DISTINCT remote_ip) AS remote_ips,
             coalesce(sum(flows) FILTER (WHERE local_resource_kind IS NOT NULL), 0) AS local_resource_flows,
             count(DISTINCT local_resource_domain) FILTER (WHERE local_resource_kind IS NOT NULL)
               AS local_resource_domains, count(DISTINCT internal_ip) AS hosts
      FROM (SELECT *, coalesce(local_resource_country, remote_country) AS country FROM silver
            WHERE direction != 'inbound') WHERE country IS NOT NULL GROUP BY day, range_name, country""",
}


def pipeline(con: duckdb.DuckDBPyConnection, config, out: Path) -> dict:
    catalog = configured_catalog(config.silver.catalog)
    register_rules(con, config, catalog)
    counts = {"silver": silver_rows(con, config, catalog)}
    for table, query in GOLD_SQL.items():
        counts[table] = con.execute(f"COPY ({query}) TO '{out}/{table}' (FORMAT parquet, PARTITION_BY (day),"
                                    f" OVERWRITE_OR_IGNORE)").fetchone()[0]
    return counts


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("parse", "pipeline"))
    parser.add_argument("--config", required=True, help="the flowlake config whose raw_uri (file://) is read")
    parser.add_argument("--out", type=Path, required=True, help="folder for the Parquet output")
    args = parser.parse_args(argv)
    started = time.monotonic()
    config = load_config(args.config)
    args.out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # days are UTC days, as in silver
    typed_views(con, config)
    counts = (parse if args.mode == "parse" else pipeline)(con, config, args.out)
    print(json.dumps({**counts, "seconds_inside": round(time.monotonic() - started, 2)}))
    return counts


if __name__ == "__main__":
    main()
