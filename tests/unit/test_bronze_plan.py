"""Bronze's bookkeeping without Spark: object keys, duplicate deliveries, SQL literals, settings."""

from datetime import datetime

from pyspark.sql import Row

from flowlake.bronze.ingest import (
    BronzeResult, duplicate_of, parse_content, pending_objects, quarantine_rate_message, relative_key,
)
from flowlake.config import load_config
from flowlake.generate.dumps import write_gzip_bomb
from flowlake.session import LOCAL_FILE_CONTEXT, LOCAL_FILE_SYSTEM, spark_conf, spark_jars, spark_submit_args
from flowlake.tables import batches_by_size, sql_string
from tests.conftest import ROOT, write_config


def test_relative_key_strips_the_raw_uri_for_files_and_s3():
    assert relative_key("file:/data/raw/flows/a.csv.gz", "file:///data/raw") == "flows/a.csv.gz"
    assert relative_key("file:///data/raw/flows/a.csv.gz", "file:///data/raw") == "flows/a.csv.gz"
    assert relative_key("s3a://lake/raw/dns/b.json", "s3a://lake/raw") == "dns/b.json"


def test_an_object_with_the_bytes_of_an_ingested_one_is_its_duplicate():
    new = [{"source_object": "raw/b", "sha256": "x"}, {"source_object": "raw/c", "sha256": "y"}]
    assert duplicate_of(new, {"x": "raw/a"}) == {"raw/b": "raw/a"}


def test_among_new_objects_with_equal_bytes_the_first_key_is_kept():
    new = [{"source_object": "raw/z", "sha256": "x"}, {"source_object": "raw/m", "sha256": "x"},
           {"source_object": "raw/q", "sha256": "q"}]
    assert duplicate_of(new, {}) == {"raw/z": "raw/m"}


def test_a_changed_object_under_the_same_key_is_not_its_own_duplicate():
    assert duplicate_of([{"source_object": "raw/a", "sha256": "x"}], {"x": "raw/a"}) == {}


def test_an_object_is_pending_until_the_manifest_holds_its_key_size_and_modification_time():
    t1, t2 = datetime(2017, 7, 1, 1), datetime(2017, 7, 1, 2)
    recorded = [Row(source_object="raw/a", size=10, modification_time=t1),
                Row(source_object="raw/b", size=10, modification_time=t1),
                Row(source_object="raw/c", size=10, modification_time=t1)]
    listed = [("raw/a", 10, t1), ("raw/b", 11, t1), ("raw/c", 10, t2), ("raw/d", 5, t1)]
    # a is ingested; b came again with other bytes, c re-written in place, d is new
    assert pending_objects(listed, recorded) == [("raw/b", 11), ("raw/c", 10), ("raw/d", 5)]
    assert pending_objects(listed, []) == [("raw/a", 10), ("raw/b", 11), ("raw/c", 10), ("raw/d", 5)]


def test_objects_are_batched_in_key_order_up_to_the_byte_limit():
    objects = [("raw/c", 40), ("raw/a", 60), ("raw/b", 40), ("raw/d", 100), ("raw/e", 150), ("raw/f", 1)]
    assert batches_by_size(objects, 100) == [["raw/a", "raw/b"], ["raw/c"], ["raw/d"], ["raw/e"], ["raw/f"]]
    assert batches_by_size(objects, 1000) == [["raw/a", "raw/b", "raw/c", "raw/d", "raw/e", "raw/f"]]
    assert batches_by_size([], 100) == []


def test_sql_string_escapes_quotes_and_backslashes():
    assert sql_string("s3a://b/it's\\x") == "'s3a://b/it\\'s\\\\x'"


def test_spark_settings_hold_no_credentials(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak-this")
    config = load_config(ROOT / "config" / "flowlake.yaml")
    settings = spark_conf(config)
    assert "do-not-leak-this" not in " ".join(spark_submit_args(config)) + str(settings)
    assert settings["spark.sql.session.timeZone"] == "UTC"
    assert settings["spark.sql.shuffle.partitions"] == "4"
    # Local mode: the jars on the driver's class path, not copied by spark.jars into every session.
    assert "delta-spark" in settings["spark.driver.extraClassPath"] and "spark.jars" not in settings
    assert "--jars" not in spark_submit_args(config)
    cluster = spark_conf(config, master="spark://127.0.0.1:7077")
    assert "delta-spark" in cluster["spark.jars"] and "spark.driver.extraClassPath" not in cluster
    assert not any(jar.startswith("local:") for jar in cluster["spark.jars"].split(","))


def test_jars_installed_on_every_cluster_node_are_named_not_shipped(tmp_path):
    config = load_config(write_config(tmp_path, spark={"master": "spark://127.0.0.1:7077", "jars_on_nodes": True}))
    jars = spark_conf(config)["spark.jars"].split(",")
    assert jars == [f"local:{jar}" for jar in spark_jars()]
    assert spark_submit_args(config)[4:6] == ["--jars", ",".join(jars)]


def test_every_driver_runs_the_parallel_collector_and_a_local_one_maps_the_class_archive(tmp_path, monkeypatch):
    jars = tmp_path / "cache" / "jars"
    jars.mkdir(parents=True)
    (jars / "delta-spark_2.13-4.0.0.jar").touch()
    monkeypatch.setenv("FLOWLAKE_JARS_DIR", str(jars))
    monkeypatch.setenv("FLOWLAKE_DRIVER_JAVA_OPTIONS", "-Dprobe='a b'")
    config = load_config(write_config(tmp_path))
    collector = "-XX:+UseParallelGC"
    assert spark_conf(config)["spark.driver.extraJavaOptions"] == f"{collector} -Dprobe='a b'"  # none recorded yet

    archive = tmp_path / "cache" / "jvm" / "classes.jsa"
    archive.parent.mkdir()
    archive.touch()
    mapped = (f"{collector} -XX:SharedArchiveFile={archive} -Xlog:cds*=off -Xlog:cds*=warning:stderr")
    assert spark_conf(config)["spark.driver.extraJavaOptions"] == f"{mapped} -Dprobe='a b'"
    # Beside the Thrift server's own options, and never on a cluster's driver (another class path).
    hive = spark_conf(config, hive_catalog=True)["spark.driver.extraJavaOptions"]
    assert hive.startswith("-Dderby.system.home=") and hive.endswith(f" {mapped} -Dprobe='a b'")
    cluster = spark_conf(config, master="spark://127.0.0.1:7077")["spark.driver.extraJavaOptions"]
    assert cluster == f"{collector} -Dprobe='a b'"


def test_local_mode_writes_through_flowlakes_file_system_where_make_setup_built_it(tmp_path, monkeypatch):
    jars = tmp_path / "jars"
    jars.mkdir()
    (jars / "delta-spark_2.13-4.0.0.jar").touch()
    monkeypatch.setenv("FLOWLAKE_JARS_DIR", str(jars))
    config = load_config(write_config(tmp_path))
    file_systems = ("spark.hadoop.fs.file.impl", "spark.hadoop.fs.AbstractFileSystem.file.impl")
    assert not set(file_systems) & set(spark_conf(config))  # no jar built: Hadoop's own
    (jars / "flowlake-hadoop.jar").touch()
    assert [spark_conf(config)[key] for key in file_systems] == [LOCAL_FILE_SYSTEM, LOCAL_FILE_CONTEXT]
    # Not for a cluster: spark-submit resolves --jars through the file system before it has them.
    assert not set(file_systems) & set(spark_conf(config, master="spark://127.0.0.1:7077"))


def test_quarantine_rate_message_names_rate_limit_config_key_top_reasons_and_objects(tmp_path):
    config = load_config(write_config(tmp_path, bronze={"max_quarantine_rate": 0.02}))
    result = BronzeResult(objects_seen=3, objects_new=3, duplicates=0, unreadable=0, flow_rows=900, dns_rows=0,
                          quarantined_rows=100)
    objects = [{"source_object": f"file:{tmp_path}/raw/flows/{name}", "quarantined_rows": rows}
               for name, rows in (("a.csv", 10), ("b.csv", 90), ("c.csv", 0))]
    reasons = [("bytes: expected a non-negative 64-bit integer", 70), ("expected 48 comma-separated columns", 30)]

    message = quarantine_rate_message(result, 1000, config, "file:///w/bronze/quarantine", reasons, objects)

    assert message == (
        f"100 of 1,000 lines (10.0%) went to quarantine, above the limit bronze.max_quarantine_rate = 2.0% "
        f"(config {config.path}). Nothing was published but the quarantine rows, in file:///w/bronze/quarantine.\n"
        "Top reasons: 70 x bytes: expected a non-negative 64-bit integer; 30 x expected 48 comma-separated columns.\n"
        "Top objects: 90 in flows/b.csv; 10 in flows/a.csv.\n"
        "Fix or remove those objects, or raise bronze.max_quarantine_rate if that share is expected.")


def test_a_later_batch_over_the_limit_says_what_earlier_batches_published(tmp_path):
    config = load_config(write_config(tmp_path, bronze={"max_quarantine_rate": 0.02, "batch_mib": 0.5}))
    result = BronzeResult(objects_seen=9, objects_new=1, duplicates=0, unreadable=0, flow_rows=0, dns_rows=0,
                          quarantined_rows=10)
    objects = [{"source_object": f"file:{tmp_path}/raw/flows/z.csv", "quarantined_rows": 10}]

    message = quarantine_rate_message(result, 10, config, "file:///w/q", [("bad", 10)], objects, published_before=8)

    assert message.splitlines()[0].endswith(
        "Nothing was published but the quarantine rows, in file:///w/q. The run's 8 objects before them, in "
        "earlier batches of at most 0.5 MiB (bronze.batch_mib), passed the gate and were published.")


def test_the_generators_gzip_bomb_is_one_quarantine_row_naming_the_object_and_the_bound(tmp_path):
    config = load_config(write_config(tmp_path, bronze={"max_decompressed_mib": 1}))
    key = "flows/pyongyang/2017-07-01.bomb.csv.gz"
    compressed = write_gzip_bomb(config, key)
    content = (tmp_path / "raw" / key).read_bytes()
    assert compressed == len(content) < 2**20 // 8
    parsed, reason = parse_content(f"file:{tmp_path}/raw/{key}", content, config.raw_uri, config.sources,
                                   config.bronze.max_days_from_dump,
                                   max_decompressed_bytes=int(config.bronze.max_decompressed_mib * 2**20))
    assert reason.startswith(f"unreadable object: {key}: decompresses to more than the bound of 1,048,576 bytes")
    assert reason.endswith("(bronze.max_decompressed_mib)")
    assert (parsed.flows.num_rows, parsed.dns.num_rows) == (0, 0)
    assert parsed.quarantine.to_pylist() == [{"line_number": None, "raw_line": None, "reason": reason}]
