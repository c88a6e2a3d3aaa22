"""flowlake.whatif's pure parts: the side-by-side of two golds, the scratch config, the catalog checks."""

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest
import yaml

from flowlake.cli import main as cli_main
from flowlake.config import ConfigError, load_config
from flowlake.silver.service_catalog import CATALOG_PATH, ServiceCatalogError, configured_catalog
from flowlake.whatif import moved_lines, scratch_config, scratch_folder, side_by_side
from tests.conftest import write_config

START, END = date(2017, 9, 1), date(2017, 9, 30)
HEADLINE = {"western_social", "chinese_services"}


def usage(rows):
    return pd.DataFrame(rows, columns=["day", "range_name", "service", "category", "flows", "bytes"])


def presence(rows):
    return pd.DataFrame(rows, columns=["period_start", "period_end", "country", "flagged"])


def crypto(rows):
    return pd.DataFrame(rows, columns=["day", "range_name", "internal_ip", "coin"])


def test_side_by_side_shows_each_figure_moved_by_a_recategorised_service():
    day, other_day = date(2017, 9, 1), date(2017, 9, 2)
    published = {
        "service_usage_daily": usage([(day, "kp", "baidu", "chinese_services", 1, 300),
                                      (day, "kp", "weibo", "chinese_services", 1, 100),
                                      (day, "kp", "facebook", "western_social", 1, 600)]),
        # August's row ends before the window, October's after it: neither is a whole month of it
        "overseas_presence": presence([(date(2017, 9, 1), date(2017, 9, 30), "CN", True),
                                       (date(2017, 9, 1), date(2017, 9, 30), "MY", False),
                                       (date(2017, 10, 1), date(2017, 10, 31), "CN", True)]),
        "crypto_activity_daily": crypto([(day, "kp", "10.0.0.1", "xmr"), (other_day, "kp", "10.0.0.1", "xmr")]),
    }
    what_if = {
        "service_usage_daily": usage([(day, "kp", "baidu", "search", 1, 300),
                                      (day, "kp", "weibo", "chinese_services", 1, 100),
                                      (day, "kp", "facebook", "western_social", 1, 600)]),
        "overseas_presence": presence([(date(2017, 9, 1), date(2017, 9, 30), "CN", False),
                                       (date(2017, 9, 1), date(2017, 9, 30), "MY", False)]),
        "crypto_activity_daily": crypto([(day, "kp", "10.0.0.1", "xmr")]),
    }
    compared = side_by_side(published, what_if, START, END, HEADLINE)
    assert compared.to_dict("records") == [
        {"figure": "headline share", "range_name": "kp", "period": "2017-09", "item": "chinese_services",
         "published": 0.4, "what_if": 0.1, "change": -0.3},
        {"figure": "headline share", "range_name": "kp", "period": "2017-09", "item": "western_social",
         "published": 0.6, "what_if": 0.6, "change": 0.0},
        {"figure": "category share", "range_name": "kp", "period": "2017-09", "item": "search",
         "published": 0.0, "what_if": 0.3, "change": 0.3},
        {"figure": "overseas flag", "range_name": "all", "period": "2017-09", "item": "CN",
         "published": 1, "what_if": 0, "change": -1},
        {"figure": "overseas flag", "range_name": "all", "period": "2017-09", "item": "MY",
         "published": 0, "what_if": 0, "change": 0},
        {"figure": "mining host", "range_name": "kp", "period": "2017-09-01..2017-09-30", "item": "10.0.0.1 xmr",
         "published": 2, "what_if": 1, "change": -1},
    ]
    assert moved_lines(compared) == [
        "4 of 6 figures moved: 1 headline share, 1 category share, 1 overseas flag, 1 mining host.",
        "kp 2017-09: chinese_services 40.0% of bytes published, 10.0% under the what-if (-30.0 points).",
    ]


def test_scratch_config_reads_published_bronze_and_writes_silver_and_gold_in_scratch(tmp_path):
    config = load_config(write_config(tmp_path))
    folder = scratch_folder(config, START, END)
    scratch = scratch_config(config, folder, "/x/catalog.yaml", "geoip2fast")
    assert folder == f"file://{tmp_path}/scratch/whatif/2017-09-01_2017-09-30"
    assert scratch.table_uri("bronze", "flows") == config.table_uri("bronze", "flows")
    assert scratch.table_uri("silver", "flows") == f"{folder}/silver/flows"
    assert scratch.table_uri("gold", "overseas_presence") == f"{folder}/gold/overseas_presence"
    assert (scratch.silver.catalog, scratch.silver.geo_source) == ("/x/catalog.yaml", "geoip2fast")


def test_a_scratch_root_inside_the_warehouse_is_refused(tmp_path):
    config = load_config(write_config(tmp_path))
    with pytest.raises(ConfigError, match="overlaps warehouse_uri"):
        scratch_folder(replace(config, scratch_uri=config.warehouse_uri + "/silver"), START, END)
    with pytest.raises(ConfigError, match="overlaps warehouse_uri"):
        scratch_folder(replace(config, warehouse_uri=f"{config.scratch_uri}/whatif/2017-09-01_2017-09-30/w"), START, END)


def test_a_catalog_file_reads_its_address_lists_beside_it(tmp_path):
    (tmp_path / "catalog.yaml").write_text(CATALOG_PATH.read_text())
    with pytest.raises(ServiceCatalogError, match=f"{tmp_path}/tor_relays_.*does not exist"):
        configured_catalog(str(tmp_path / "catalog.yaml"))


def test_a_bad_catalog_fails_naming_file_and_key_before_spark_starts(tmp_path, capsys, monkeypatch):
    raw = yaml.safe_load(CATALOG_PATH.read_text())
    del raw["ports"]
    bad = tmp_path / "no_ports.yaml"
    bad.write_text(yaml.safe_dump(raw))
    config = write_config(tmp_path)
    monkeypatch.setattr("flowlake.session.build_session", lambda *args: pytest.fail("a Spark session was started"))
    assert cli_main(["whatif", "--config", str(config), "--catalog", str(bad),
                     "--from", "2017-09-01", "--to", "2017-09-03"]) == 2
    assert f"{bad}: the catalog has no ports" in capsys.readouterr().err
    with pytest.raises(ServiceCatalogError, match="missing.yaml: cannot read the catalog"):
        configured_catalog(str(tmp_path / "missing.yaml"))
