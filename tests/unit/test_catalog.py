"""Registration statements from a listing of the warehouse, without Spark."""

import re
from pathlib import Path

import pytest

from flowlake.catalog import CatalogError, registration_statements
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
    with pytest.raises(CatalogError, match=f"directory {re.escape(repr(name))} is not a plain identifier"):
        registration_statements(load_config(write_config(tmp_path, warehouse)))


def test_an_empty_warehouse_registers_nothing(tmp_path):
    assert registration_statements(load_config(write_config(tmp_path, tmp_path / "none"))) == []


def test_catalog_defaults_to_the_embedded_metastore_under_run(tmp_path):
    catalog = load_config(write_config(tmp_path, tmp_path)).catalog
    assert (catalog.metastore_uri, catalog.state_dir, catalog.thrift_port) == (
        "", str(Path.cwd() / ".run" / "catalog"), 10000)
