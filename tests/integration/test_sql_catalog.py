"""The SQL catalog: gold by name in spark-sql, and over JDBC from the Thrift server.

Gold is the shared `gold_lake`, built in the shared (Hive-less) session; everything that
opens the metastore runs as its own process through the `flowlake` command, as a user runs
it. Rows from the catalog are compared with Spark reading the Delta tables directly. The
Thrift server asks for a login, checked against the local LDAP server (infra/ldap.sh), and
listens on 127.0.0.1 only: one server start checks it all, as a start costs a minute.
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql.types import BooleanType, DateType, DoubleType, IntegerType, LongType, StructType

from flowlake.sql_catalog import SPARK_BIN, beeline_login, jdbc_url
from flowlake.config import load_config
from flowlake.gold.build import GOLD_TABLES
from flowlake.tables import table_version
from tests.conftest import free_port, port_bound, write_config

pytestmark = pytest.mark.integration
BEELINE_PROMPT = re.compile(r"^(\d+: jdbc:hive2://\S+> )+")


def flowlake(*args: str, timeout: float = 600) -> str:
    result = subprocess.run([sys.executable, "-m", "flowlake.cli", *args],
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"flowlake {' '.join(args)} failed:\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def lake(gold_lake, ldap_url, tmp_path_factory):
    """A config of its own (catalog state, a free Thrift port, the local LDAP server) on the
    shared gold lake."""
    folder = tmp_path_factory.mktemp("sql_catalog")
    shared = gold_lake[0]
    path = write_config(folder, raw_uri=shared.raw_uri, warehouse_uri=shared.warehouse_uri,
                        catalog={"state_dir": str(folder / "catalog"), "thrift_port": free_port(),
                                 "ldap_url": ldap_url})
    return str(path), load_config(path)


def delta_rows(spark, config, table: str) -> tuple[StructType, list[tuple]]:
    df = spark.read.format("delta").load(config.table_uri("gold", table))
    rows = sorted(tuple(row) for row in df.collect())
    assert rows, f"gold.{table} is empty: the comparison would prove nothing"
    return df.schema, rows


def typed(value: str, data_type):
    """A value as the JDBC driver printed it, read back as the Python value Spark returns."""
    if value == "NULL":
        return None
    if isinstance(data_type, (IntegerType, LongType)):
        return int(value)
    if isinstance(data_type, DoubleType):
        # Java prints the shortest digits that read back as the same double.
        return float(value)
    if isinstance(data_type, BooleanType):
        return {"true": True, "false": False}[value]
    if isinstance(data_type, DateType):
        return date.fromisoformat(value)
    return value


def beeline(config, sql: str, password: str | None = None) -> subprocess.CompletedProcess:
    """beeline on the gold database, logged in as the config's user with `password` (default:
    the one in the environment), running `sql`."""
    login, password_fd = beeline_login(config, password)
    command = [str(SPARK_BIN / "beeline"), "-u", jdbc_url(config, "gold"), *login, "--outputformat=tsv2",
               "--silent=true", "-e", sql]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=300, pass_fds=(password_fd,))
    finally:
        os.close(password_fd)


def beeline_results(config, queries: dict[str, tuple[str, StructType]]) -> dict[str, list[tuple]]:
    """Run the queries in one beeline session over JDBC; each result as sorted typed rows.

    tsv2 prints a header line before each result (after beeline's echoed prompts), which is
    where one result ends and the next begins. (Its csv2 does not quote commas in values.)
    """
    result = beeline(config, "; ".join(sql for sql, _ in queries.values()))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    headers = {"\t".join(schema.names): name for name, (_, schema) in queries.items()}
    results, current = {}, None
    for line in result.stdout.splitlines():
        line = BEELINE_PROMPT.sub("", line)
        if line in headers:
            current = headers[line]
            results[current] = []
        elif current and line:
            schema = queries[current][1]
            fields = line.split("\t")
            results[current].append(tuple(typed(v, f.dataType) for v, f in zip(fields, schema.fields)))
    return {name: sorted(rows) for name, rows in results.items()}


def catalog_processes(state_dir: str) -> list[int]:
    """PIDs whose command line names this catalog's state (the server and its JVM)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if state_dir.encode() in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


def listening_addresses(pids: list[int]) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket these processes listen on, from /proc/net/tcp{,6}:
    every one, whatever port Spark or HiveServer2 picked, not only the one a test knows of."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                address, port = local.split(":")
                # The kernel prints each 32-bit word of the address in host (little-endian) order.
                raw = b"".join(bytes.fromhex(address[i:i + 8])[::-1] for i in range(0, len(address), 8))
                found.add((str(ipaddress.ip_address(raw)), int(port, 16)))
    return found


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback)


def test_tables_are_queried_by_name_in_spark_sql(spark, lake):
    config_path, config = lake
    schema, usage = delta_rows(spark, config, "service_usage_daily")
    silver_count = spark.read.format("delta").load(config.table_uri("silver", "flows")).count()
    out = flowlake("sql", "--config", config_path, "-S", "-e",
                   "SELECT * FROM gold.service_usage_daily; SELECT count(*) FROM silver.flows")
    lines = [line.split("\t") for line in out.splitlines() if line]
    by_name = sorted(tuple(typed(v, f.dataType) for v, f in zip(fields, schema.fields))
                     for fields in lines[:-1])
    assert by_name == usage
    assert lines[-1] == [str(silver_count)]


def test_thrift_server_serves_every_gold_table_as_spark_reads_it_and_stops_clean(spark, lake):
    config_path, config = lake
    port, state_dir = config.catalog.thrift_port, config.catalog.state_dir
    expected = {table: delta_rows(spark, config, table) for table in GOLD_TABLES}
    started = time.monotonic()
    flowlake("thrift", "start", "--config", config_path)
    print(f"Thrift server up in {time.monotonic() - started:.1f}s")
    try:
        # Every socket the server and its JVM listen on is on the loopback interface, the
        # Thrift port among them.
        listening = listening_addresses(catalog_processes(state_dir))
        assert port in {p for _, p in listening} and all(is_loopback(a) for a, _ in listening), listening

        # A wrong password is refused by the LDAP bind (the server's log says so), and nothing
        # is served.
        refused = beeline(config, "SELECT count(*) AS n FROM gold.service_usage_daily",
                          password="not-" + os.environ[config.catalog.password_env])
        assert refused.returncode != 0 and "Error validating the login" in refused.stderr, \
            refused.stdout[-2000:] + refused.stderr[-2000:]
        assert "\nn\n" not in refused.stdout
        log = (Path(state_dir) / "thrift-server.log").read_text()
        assert "Error validating LDAP user" in log and "Invalid Credentials" in log

        served = beeline_results(config, {t: (f"SELECT * FROM gold.{t}", schema)
                                          for t, (schema, _) in expected.items()})
        assert served == {table: rows for table, (_, rows) in expected.items()}

        # A job writes while the server holds the embedded metastore: it never opens the
        # metastore, so it runs, and the server sees the new version with no new registration.
        usage_uri = config.table_uri("gold", "service_usage_daily")
        before = table_version(spark, usage_uri)
        spark.sql(f"DELETE FROM delta.`{usage_uri}` WHERE day = DATE'2017-07-02'")
        try:
            schema, usage = delta_rows(spark, config, "service_usage_daily")
            after = beeline_results(config, {"usage": ("SELECT * FROM gold.service_usage_daily", schema)})
            assert after == {"usage": usage} and len(usage) < len(expected["service_usage_daily"][1])
        finally:
            # The lake is shared with other tests: put the rows back.
            spark.sql(f"RESTORE TABLE delta.`{usage_uri}` TO VERSION AS OF {before}")

        # Registration and `flowlake sql` go through the running server instead of opening
        # the metastore it holds.
        registered = flowlake("register", "--config", config_path).split()
        assert {f"gold.{t}" for t in GOLD_TABLES} | {"silver.flows", "bronze.flows"} <= set(registered)
        out = flowlake("sql", "--config", config_path, "--outputformat=tsv2", "--silent=true",
                       "-e", "SELECT count(*) AS usage_rows FROM gold.service_usage_daily")
        lines = [BEELINE_PROMPT.sub("", line) for line in out.splitlines()]
        assert [line for line in lines if line][-2:] == ["usage_rows", str(len(expected["service_usage_daily"][1]))]
    finally:
        stopped = flowlake("thrift", "stop", "--config", config_path)
    assert "stopped" in stopped
    assert catalog_processes(state_dir) == [] and not port_bound(port)
