"""The one Spark session builder every flowlake job and test uses.

`build_session(config, app_name)` returns a session with Delta's SQL extensions and catalog,
the jars `make setup` fetched (FLOWLAKE_JARS_DIR, default .cache/jars), S3A pointed at the
endpoint and credentials named in config (read from the environment, never logged), UTC as
session time zone, and memory and shuffle partitions sized for a 2-core machine.
`hive_catalog=True` adds the Hive metastore that names the tables (flowlake.sql_catalog); jobs
work by path and leave it off. A job that writes opens its session with `writing_session`, which
holds the warehouse's writer lease (flowlake.lease) from before the session starts until it stops.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyspark.sql import SparkSession

from flowlake.config import Config
from flowlake.lease import writer_lease
from flowlake.progress import Progress

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def jars_dir() -> Path:
    return Path(os.environ.get("FLOWLAKE_JARS_DIR", PROJECT_ROOT / ".cache" / "jars"))


def class_archive() -> Path:
    """The JVM class-data archive `make setup` records (flowlake.jvm_archive), beside the jars."""
    return jars_dir().parent / "jvm" / "classes.jsa"


# Options added to the driver JVM's own: flowlake.jvm_archive records the class archive with one.
DRIVER_JAVA_OPTIONS = "FLOWLAKE_DRIVER_JAVA_OPTIONS"


def driver_java_options(local: bool) -> list[str]:
    """The parallel collector; the class archive mapped into a local-mode driver, whose class
    path is the recording's (a JVM that finds another class path or Java ignores it, with a
    warning on stderr, not stdout); then FLOWLAKE_DRIVER_JAVA_OPTIONS."""
    # The JVM's default collector, G1, works beside the application on 2 cores: the parallel
    # collector took a six-month run from 111.4 to 103.2 s and one new day from 71.7 to 66.1 s,
    # with a lower peak (BENCHMARKS.md, "2026-12-02 12:26").
    options = ["-XX:+UseParallelGC"]
    archive = class_archive()
    if local and archive.is_file():
        options += [f"-XX:SharedArchiveFile={archive}", "-Xlog:cds*=off", "-Xlog:cds*=warning:stderr"]
    # Kept as written: Spark splits the whole line itself, quotes included.
    return options + [os.environ.get(DRIVER_JAVA_OPTIONS, "").strip()]


# flowlake's file:// file system, built by `make setup` into the jars directory (infra/hadoop):
# Hadoop's own without a `chmod` or `readlink` process per file written or committed.
LOCAL_FILE_SYSTEM_JAR = "flowlake-hadoop.jar"
LOCAL_FILE_SYSTEM = "flowlake.hadoop.NioLocalFileSystem"
LOCAL_FILE_CONTEXT = "flowlake.hadoop.NioLocalFs"  # the same for FileContext, through which Delta commits


def spark_jars() -> list[str]:
    jars = sorted(str(p) for p in jars_dir().glob("*.jar"))
    if not any("delta-spark" in j for j in jars):
        raise RuntimeError(f"no Delta jar in {jars_dir()}: run `make setup` to fetch Spark's jars")
    return jars


def launched_by_spark_submit() -> bool:
    """Whether this Python process is a spark-submit driver, whose JVM already runs with the jars
    from its command line (and which may run where no jars directory is: a cluster node, or
    flowlake imported from a --py-files zip)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def spark_conf(config: Config, hive_catalog: bool = False, with_jars: bool = True,
               master: str | None = None) -> dict[str, str]:
    """Every Spark setting flowlake relies on, as `--conf` pairs for spark-submit too.

    `hive_catalog` adds the Hive metastore that holds the `<layer>.<table>` names; jobs leave it
    off, so they never open the embedded metastore a running Thrift server holds. `master` is
    where the job will run when something other than the config chooses it (Airflow's Spark
    connection); it decides how the jars reach the executors.
    """
    conf = {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.memory": config.spark.driver_memory,
        "spark.sql.shuffle.partitions": str(config.spark.shuffle_partitions),
        "spark.default.parallelism": str(config.spark.shuffle_partitions),
        "spark.ui.enabled": "false",
        # The loopback interface unless the config names an address a cluster can reach.
        "spark.driver.host": config.spark.driver_host,
        "spark.driver.bindAddress": config.spark.driver_host,
        "spark.ui.showConsoleProgress": "false",
        # Python workers must run an interpreter that has pyarrow and the other dependencies
        # installed (and flowlake, unless spark.py_files ships it).
        "spark.pyspark.python": config.spark.executor_python or sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        # Listing a few hundred raw paths should not start a distributed listing job.
        "spark.sql.sources.parallelPartitionDiscovery.threshold": "4096",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        # Delta rebuilds a table's state from its log with this many tasks (default 50) every
        # time it loads a snapshot, however small the table: on 2 cores that fixed cost was
        # most of every small write (BENCHMARKS.md, "Delta's snapshot partitions").
        "spark.databricks.delta.snapshotPartitions": str(config.spark.shuffle_partitions),
        # Every table keeps a change feed: silver and gold rebuild only the days that changed.
        "spark.databricks.delta.properties.defaults.enableChangeDataFeed": "true",
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.aws.credentials.provider":
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider,"
            "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider",
        "spark.hadoop.fs.s3a.endpoint.region": config.s3.region,
    }
    local = with_jars and (master or config.spark.master).startswith("local")
    if local:
        # Local mode runs the executors inside the driver's JVM, so the class path is enough.
        # As `spark.jars`, every session would first copy all of them (628 MB, the AWS SDK
        # bundle mostly) into its temporary directory, and a killed job would leave the copy.
        jars = spark_jars()
        conf["spark.driver.extraClassPath"] = os.pathsep.join(jars)
        # Local mode only: there the jar is on the JVM's class path from its start. Shipped with
        # --jars, it is not yet when spark-submit resolves those paths through the very file
        # system the setting names (ClassNotFoundException); clusters keep Hadoop's.
        if any(Path(jar).name == LOCAL_FILE_SYSTEM_JAR for jar in jars):
            conf["spark.hadoop.fs.file.impl"] = LOCAL_FILE_SYSTEM
            conf["spark.hadoop.fs.AbstractFileSystem.file.impl"] = LOCAL_FILE_CONTEXT
    elif with_jars:
        scheme = "local:" if config.spark.jars_on_nodes else ""
        conf["spark.jars"] = ",".join(scheme + jar for jar in spark_jars())
    if config.spark.py_files:
        conf["spark.submit.pyFiles"] = config.spark.py_files
    endpoint = config.s3.endpoint()
    if endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = endpoint
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(endpoint.startswith("https"))
    if hive_catalog:
        conf.update(hive_catalog_conf(config))
    java_options = [conf.get("spark.driver.extraJavaOptions", ""), *driver_java_options(local)]
    if any(java_options):
        conf["spark.driver.extraJavaOptions"] = " ".join(option for option in java_options if option)
    return conf


def hive_catalog_conf(config: Config) -> dict[str, str]:
    """Spark's Hive catalog on the external metastore in config, else on embedded Derby, and
    where a Thrift server on it listens (the loopback interface only)."""
    conf = {
        "spark.sql.catalogImplementation": "hive",
        "spark.hadoop.hive.server2.thrift.bind.host": "127.0.0.1",
        "spark.hadoop.hive.server2.thrift.port": str(config.catalog.thrift_port),
        # The Thrift server opens sessions on threads whose class loader sees only the JVM's
        # class path, not `spark.jars`: Delta's catalog must be on the class path itself.
        "spark.driver.extraClassPath": os.pathsep.join(spark_jars()),
    }
    java_options = []
    if config.catalog.authentication == "ldap":
        # HiveServer2 binds as uid=<login>,<baseDN> with the login's password: PLAIN over SASL,
        # so the password crosses the loopback connection in the clear and never leaves the host.
        # The server reads the mode from its configuration, but its LDAP provider builds a
        # HiveConf of its own, which sees only hive-site.xml and Java system properties.
        ldap = {"hive.server2.authentication.ldap.url": config.catalog.ldap_url,
                "hive.server2.authentication.ldap.baseDN": config.catalog.ldap_base_dn}
        conf["spark.hadoop.hive.server2.authentication"] = "LDAP"
        java_options += [f"-D{key}={shlex.quote(value)}" for key, value in ldap.items()]
    if config.catalog.metastore_uri:
        conf["spark.hadoop.hive.metastore.uris"] = config.catalog.metastore_uri
        if java_options:
            conf["spark.driver.extraJavaOptions"] = " ".join(java_options)
        return conf
    state = config.catalog.state_dir
    conf.update({
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={state}/metastore_db;create=true",
        # derby.log goes beside the database instead of the working directory.
        "spark.driver.extraJavaOptions": " ".join([f"-Dderby.system.home={state}", *java_options]),
        # Where the databases' own directories and analysts' managed tables go; flowlake's
        # tables are external, in the warehouse.
        "spark.sql.warehouse.dir": f"file://{state}/spark-warehouse",
    })
    return conf


def spark_submit_args(config: Config, hive_catalog: bool = False) -> list[str]:
    """The same settings as spark-submit arguments: a job submitted with them gets the session
    `build_session` would build (the JVM must know the jars before it starts)."""
    conf = spark_conf(config, hive_catalog)
    args = ["--master", config.spark.master, "--driver-memory", conf.pop("spark.driver.memory")]
    if "spark.jars" in conf:
        args += ["--jars", conf.pop("spark.jars")]
    for key, value in conf.items():
        args += ["--conf", f"{key}={value}"]
    return args


def _set_s3_credentials(session: SparkSession, config: Config) -> None:
    """Hand S3A the credentials from the environment variables the config names.

    They go into the running JVM's Hadoop configuration, not into `--conf` flags, so they never
    show on a command line, in `ps` or in Spark's logged settings.
    """
    access = os.environ.get(config.s3.access_key_env)
    secret = os.environ.get(config.s3.secret_key_env)
    if access and secret:
        hadoop_conf = session.sparkContext._jsc.hadoopConfiguration()
        hadoop_conf.set("fs.s3a.access.key", access)
        hadoop_conf.set("fs.s3a.secret.key", secret)


def build_session(config: Config, app_name: str, hive_catalog: bool = False) -> SparkSession:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name).master(config.spark.master)
    conf = spark_conf(config, hive_catalog, with_jars=not launched_by_spark_submit())
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    _set_s3_credentials(session, config)
    return session


@contextmanager
def stopped_session(config: Config, app_name: str) -> Iterator[SparkSession]:
    """A session stopped on the way out; what a job that publishes nothing (what-if) opens."""
    spark = build_session(config, app_name)
    try:
        yield spark
    finally:
        spark.stop()


@contextmanager
def writing_session(config: Config, app_name: str, progress: Progress) -> Iterator[SparkSession]:
    """A session for a job that writes to the warehouse, stopped on the way out. On an s3a://
    warehouse the job holds the writer lease throughout, taken before the JVM starts, so a job
    that waits for it holds no memory meanwhile."""
    with writer_lease(config, app_name, progress), stopped_session(config, app_name) as spark:
        yield spark
