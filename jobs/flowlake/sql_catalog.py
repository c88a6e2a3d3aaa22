"""The SQL catalog: every Delta table of the warehouse registered by name, and the Thrift server.

    flowlake register --config C       register new tables in the metastore
    flowlake sql --config C [-e SQL]    spark-sql on the catalog (beeline when the server is up)
    flowlake thrift start|stop|serve --config C
                                        the Spark Thrift server (HiveServer2) on 127.0.0.1

Names live in Spark's Hive metastore: the embedded Derby database under `catalog.state_dir`,
or the external metastore at `catalog.metastore_uri`. Every table is an external Delta table
`<layer>.<table>` at `config.table_uri(layer, table)`: the metastore holds only its name and
location, Delta's log its schema and versions, so a table is registered once and every later
commit shows up by itself. Registration is one SQL script built from a listing of the
warehouse (`CREATE ... IF NOT EXISTS`, never a drop), run by whichever process holds the
catalog: spark-sql as its init file, the Thrift server at start, or the running Thrift server
itself (through beeline) while it holds the embedded Derby database, which only one JVM at a
time can open. Pipeline jobs never open the metastore, so they run while the server is up.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyspark

from flowlake.config import PLAIN_IDENTIFIER, Config
from flowlake.errors import PipelineStopped
from flowlake.stages import LAYERS
from flowlake.tables import sql_string

THRIFT_HOST = "127.0.0.1"
READY_LINE = "flowlake thrift server ready"
SPARK_BIN = Path(pyspark.__file__).parent / "bin"  # spark-sql and beeline of the installed Spark


class SqlCatalogError(PipelineStopped):
    """The catalog or its server cannot do what was asked; the message says why and where."""


def delta_tables(config: Config) -> list[tuple[str, str]]:
    """(layer, table) of every Delta table under `<warehouse_uri>/<layer>/`, listed without Spark."""
    if config.warehouse_uri.startswith("s3a://"):
        return _s3_delta_tables(config)
    root = Path(config.warehouse_uri.removeprefix("file://"))
    return [(layer, table.name) for layer in LAYERS if (root / layer).is_dir()
            for table in sorted((root / layer).iterdir()) if (table / "_delta_log").is_dir()]


def _s3_delta_tables(config: Config) -> list[tuple[str, str]]:
    from flowlake.storage import s3_client, split_s3

    client = s3_client(config.s3)
    bucket, key = split_s3(config.warehouse_uri)
    found = []
    for layer in LAYERS:
        prefix = f"{key}/{layer}/" if key else f"{layer}/"
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
        for table_prefix in sorted(p["Prefix"] for page in pages for p in page.get("CommonPrefixes", ())):
            if client.list_objects_v2(Bucket=bucket, Prefix=f"{table_prefix}_delta_log/", MaxKeys=1).get("KeyCount"):
                found.append((layer, table_prefix[len(prefix):].rstrip("/")))
    return found


def registration_statements(config: Config) -> list[str]:
    """SQL that registers every Delta table of the warehouse not yet known to the metastore.

    The databases get no LOCATION in the warehouse: `DROP DATABASE ... CASCADE` deletes a
    database's directory, and that must never be a layer of the lake.
    """
    tables = delta_tables(config)
    statements = [f"CREATE DATABASE IF NOT EXISTS {quoted_identifier(layer, config)}"
                  for layer in LAYERS if any(t[0] == layer for t in tables)]
    statements += [f"CREATE TABLE IF NOT EXISTS {quoted_identifier(layer, config)}.{quoted_identifier(table, config)} "
                   f"USING DELTA LOCATION {sql_string(config.table_uri(layer, table))}" for layer, table in tables]
    return statements


def quoted_identifier(name: str, config: Config) -> str:
    """`name` in backticks, once it is known to be a plain identifier. The names come from
    directory names under the warehouse, which anyone who can write there chooses: a name
    with a backtick, quote or semicolon would otherwise become SQL."""
    if not PLAIN_IDENTIFIER.fullmatch(name):
        raise SqlCatalogError(f"{config.warehouse_uri}: the Delta table directory {name!r} is not a plain identifier "
                           f"(a letter or _, then letters, digits or _), so it is not registered; rename it")
    return f"`{name}`"


def registration_script(config: Config) -> Path:
    """The registration statements as a file a SQL client runs (`-i` or `-f`)."""
    script = Path(config.catalog.state_dir) / "register.sql"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("".join(f"{statement};\n" for statement in registration_statements(config)))
    return script


def jdbc_url(config: Config, database: str = "default") -> str:
    return f"jdbc:hive2://{THRIFT_HOST}:{config.catalog.thrift_port}/{database}"


def _pid_file(config: Config) -> Path:
    return Path(config.catalog.state_dir) / "thrift-server.pid"


def _log_file(config: Config) -> Path:
    return Path(config.catalog.state_dir) / "thrift-server.log"


def thrift_server_pid(config: Config) -> int | None:
    """PID of this config's running Thrift server, from the PID file `thrift start` wrote."""
    try:
        pid = int(_pid_file(config).read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    # A PID the system has since given to another process is not the server.
    return pid if b"thrift" in cmdline and b"serve" in cmdline else None


def beeline_login(config: Config, password: str | None = None) -> tuple[list[str], int | None]:
    """beeline's login arguments for the Thrift server, and the pipe it reads the password from
    (the caller passes it on to beeline): `-w /dev/fd/N` keeps the password off the command line,
    where anyone on the machine could list it, and off the disk. `password` defaults to the one
    in the environment variable `catalog.password_env` names."""
    if config.catalog.authentication == "none":
        return [], None
    password = os.environ.get(config.catalog.password_env) if password is None else password
    if not password:
        raise SqlCatalogError(f"the Thrift server asks for a login: set {config.catalog.password_env} "
                           f"(catalog.password_env in {config.path}) to the password of {config.catalog.user}")
    read_end, write_end = os.pipe()
    os.write(write_end, password.encode("utf-8"))
    os.close(write_end)
    return ["-n", config.catalog.user, "-w", f"/dev/fd/{read_end}"], read_end


def sql_client_command(config: Config, client_args: list[str], init_flag: str = "-i") -> tuple[list[str], int | None]:
    """The SQL client on the catalog with the registration script run first (`init_flag`):
    beeline on the running Thrift server (logged in, with the descriptor its password is read
    from), else spark-sql in a JVM of its own (and None)."""
    script = str(registration_script(config))
    if thrift_server_pid(config):
        login, password_fd = beeline_login(config)
        return [str(SPARK_BIN / "beeline"), "-u", jdbc_url(config), *login, init_flag, script,
                *client_args], password_fd
    from flowlake.session import spark_submit_args

    return [str(SPARK_BIN / "spark-sql"), *spark_submit_args(config, hive_catalog=True),
            init_flag, script, *client_args], None


def open_sql(config: Config, client_args: list[str]) -> None:
    """Replace this process with the SQL client (so the terminal and Ctrl-C go to it)."""
    command, password_fd = sql_client_command(config, client_args)
    if password_fd is not None:
        os.set_inheritable(password_fd, True)
    os.execv(command[0], command)


def register(config: Config) -> list[str]:
    """Register every table of the warehouse not yet registered; returns the `<layer>.<table>` names."""
    tables = delta_tables(config)
    if not tables:
        return []
    command, password_fd = sql_client_command(config, [], init_flag="-f")
    try:
        result = subprocess.run(command, capture_output=True, text=True,
                                pass_fds=() if password_fd is None else (password_fd,))
    finally:
        if password_fd is not None:
            os.close(password_fd)
    if result.returncode != 0:
        raise SqlCatalogError(f"registering {len(tables)} tables failed:\n{result.stderr[-3000:]}")
    return [f"{layer}.{table}" for layer, table in tables]


def serve_thrift(config: Config) -> None:
    """Run the Thrift server in this process until SIGTERM or Ctrl-C: one Spark session with the
    Hive catalog and Delta, the tables registered, HiveServer2 on 127.0.0.1:<thrift_port>."""
    from flowlake.session import build_session

    spark = build_session(config, "flowlake-thrift-server", hive_catalog=True)
    try:
        for statement in registration_statements(config):
            spark.sql(statement)
        thrift_server = spark._jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2
        server = thrift_server.startWithSparkSession(spark._jsparkSession, False)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        print(f"{READY_LINE}: {jdbc_url(config)}", flush=True)
        try:
            while True:
                signal.pause()
        except KeyboardInterrupt:
            server.stop()
    finally:
        spark.stop()


def start_thrift(config: Config, timeout_s: float = 300) -> int:
    """Start `serve_thrift` in the background, record its PID, and return once it accepts
    connections (registration included); fail with the end of its log if it does not."""
    pid = thrift_server_pid(config)
    if pid:
        return pid
    with socket.socket() as probe:
        if probe.connect_ex((THRIFT_HOST, config.catalog.thrift_port)) == 0:
            raise SqlCatalogError(f"{THRIFT_HOST}:{config.catalog.thrift_port} is taken by another process; "
                               f"stop it or set catalog.thrift_port in {config.path}")
    state = Path(config.catalog.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    log = _log_file(config)
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "flowlake.cli", "thrift", "serve", "--config", config.path],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    _pid_file(config).write_text(str(process.pid))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if READY_LINE in log.read_text(errors="replace"):
            return process.pid
        if process.poll() is not None:
            _pid_file(config).unlink(missing_ok=True)
            raise SqlCatalogError(f"the Thrift server exited with status {process.returncode}; "
                               f"end of {log}:\n{_tail(log)}")
        time.sleep(0.5)
    stop_thrift(config)
    raise SqlCatalogError(f"the Thrift server did not start within {timeout_s:.0f}s; end of {log}:\n{_tail(log)}")


def stop_thrift(config: Config, timeout_s: float = 60) -> bool:
    """Stop the server by its recorded PID and wait until it and its JVM are gone; False if none
    was running. The server leads a process group of its own (`start_new_session`), which its
    JVM belongs to, so an empty group means nothing of it is left."""
    pid = thrift_server_pid(config)
    if not pid:
        _pid_file(config).unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _group_alive(pid):
        # It ignored SIGTERM for a minute: its session cannot be closed cleanly any more.
        os.killpg(pid, signal.SIGKILL)
    _pid_file(config).unlink(missing_ok=True)
    return True


def _group_alive(pgid: int) -> bool:
    try:
        # Reap the leader if this process started it, or its zombie would keep the group alive.
        os.waitpid(pgid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
