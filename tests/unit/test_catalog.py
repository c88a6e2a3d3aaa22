"""Registration statements from a listing of the warehouse, without Spark."""

import re
from pathlib import Path

import pytest

from flowlake.sql_catalog import SqlCatalogError, registration_statements
from flowlake.config import load_config


def write_config(tmp_path: Path, warehouse: Path) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(f"warehouse_uri: file://{warehouse}\nmonitored_ranges: [{{name: a, cidrs: ['10.0.0.0/8']}}]\n")
    return path


def test_every_delta_table_of_the_warehouse_is_registered_once_by_layer_and_name(tmp_path):
    warehouse = tmp_path / "ware'house"
    for table in ("gold/service_usage_daily", "gold/overseas_presence", "bronze/flows"):
        (warehouse / table / "_delta_log").mkdir(parents=True)
    (warehouse / "gold" / "half_written").mkdir()  # no Delta log yet: not a table
    (warehouse / "scratch" / "t" / "_delta_log").mkdir(parents=True)  # not a layer
    config = load_config(write_config(tmp_path, warehouse))
    location = str(warehouse).replace("'", "\\'")
    assert registration_statements(config) == [
        "CREATE DATABASE IF NOT EXISTS `bronze`",
        "CREATE DATABASE IF NOT EXISTS `gold`",
        f"CREATE TABLE IF NOT EXISTS `bronze`.`flows` USING DELTA LOCATION 'file://{location}/bronze/flows'",
        f"CREATE TABLE IF NOT EXISTS `gold`.`overseas_presence` USING DELTA LOCATION "
        f"'file://{location}/gold/overseas_presence'",
        f"CREATE TABLE IF NOT EXISTS `gold`.`service_usage_daily` USING DELTA LOCATION "
        f"'file://{location}/gold/service_usage_daily'",
    ]


@pytest.mark.parametrize("name", ["x; DROP DATABASE gold CASCADE; --", "a`b", "1day", "usage-daily", "t\u00e9", "a.b"])
def test_a_table_directory_that_is_not_a_plain_identifier_is_refused_by_name(tmp_path, name):
    warehouse = tmp_path / "warehouse"
    (warehouse / "gold" / name / "_delta_log").mkdir(parents=True)
    (warehouse / "gold" / "fine_name" / "_delta_log").mkdir(parents=True)
    with pytest.raises(SqlCatalogError, match=f"directory {re.escape(repr(name))} is not a plain identifier"):
        registration_statements(load_config(write_config(tmp_path, warehouse)))


def test_an_empty_warehouse_registers_nothing(tmp_path):
    assert registration_statements(load_config(write_config(tmp_path, tmp_path / "none"))) == []


def test_catalog_defaults_to_the_embedded_metastore_under_run(tmp_path):
    catalog = load_config(write_config(tmp_path, tmp_path)).catalog
    assert (catalog.metastore_uri, catalog.state_dir, catalog.thrift_port) == (
        "", str(Path.cwd() / ".run" / "catalog"), 10000)


def test_the_thrift_server_checks_logins_with_ldap_unless_the_config_says_none(tmp_path):
    from flowlake.session import hive_catalog_conf

    path = write_config(tmp_path, tmp_path)
    conf = hive_catalog_conf(load_config(path))
    assert conf["spark.hadoop.hive.server2.authentication"] == "LDAP"
    # The LDAP provider reads its settings from Java system properties, not the server's conf.
    assert conf["spark.driver.extraJavaOptions"].split()[1:] == [
        "-Dhive.server2.authentication.ldap.url=ldap://127.0.0.1:3890",
        "-Dhive.server2.authentication.ldap.baseDN=ou=people,dc=flowlake,dc=test"]
    assert conf["spark.hadoop.hive.server2.thrift.bind.host"] == "127.0.0.1"
    path.write_text(path.read_text() + "catalog: {authentication: none}\n")
    conf = hive_catalog_conf(load_config(path))
    assert not any("authentication" in f"{k}={v}" for k, v in conf.items())


def test_beeline_gets_the_password_through_a_pipe_never_its_command_line(tmp_path, monkeypatch):
    import os

    from flowlake.sql_catalog import beeline_login

    config = load_config(write_config(tmp_path, tmp_path))
    monkeypatch.delenv("FLOWLAKE_SQL_PASSWORD", raising=False)
    with pytest.raises(SqlCatalogError, match="set FLOWLAKE_SQL_PASSWORD .catalog.password_env in .*c.yaml. to the password "
                                           "of analyst"):
        beeline_login(config)
    monkeypatch.setenv("FLOWLAKE_SQL_PASSWORD", "pw with spaces")
    args, fd = beeline_login(config)
    try:
        assert args == ["-n", "analyst", "-w", f"/dev/fd/{fd}"]
        assert os.read(fd, 100) == b"pw with spaces"
    finally:
        os.close(fd)
