"""What-if on the generated gold lake: a catalog that files Baidu under search moves exactly
Baidu's bytes from chinese_services to search, nothing else moves, and no published table
gets a new Delta version."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
import yaml
from pyspark.sql import functions as F

from flowlake.errors import PipelineStopped
from flowlake.progress import Progress
from flowlake.silver.service_catalog import CATALOG_PATH, REFERENCE_DIR
from flowlake.storage import local_path
from flowlake.tables import table_version
from flowlake.whatif import run_whatif

pytestmark = pytest.mark.integration

START, END = date(2017, 10, 2), date(2017, 10, 4)
MOVED = "baidu"  # a search engine the catalog files under chinese_services: a real choice to question


def baidu_as_search(folder: Path) -> Path:
    """A copy of the bundled catalog with Baidu under search, its address lists beside it."""
    raw = yaml.safe_load(CATALOG_PATH.read_text())
    [baidu] = [s for s in raw["services"] if s["name"] == MOVED]
    assert baidu["category"] == "chinese_services"
    baidu["category"] = "search"
    for name in {n for s in raw["services"] for n in s.get("address_lists", [])}:
        (folder / name).write_text((REFERENCE_DIR / name).read_text())
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def delta_versions(spark, warehouse: Path) -> dict[str, int]:
    """Every Delta table under the warehouse, found on disk, and its version."""
    return {str(log.parent.relative_to(warehouse)): table_version(spark, f"file://{log.parent}")
            for log in warehouse.glob("*/*/_delta_log")}


def expected_shares(spark, config) -> pd.DataFrame:
    """Per range, each category's share of the window's bytes before and after moving Baidu,
    summed from the published silver's rows the monitored hosts started."""
    silver = (spark.read.format("delta").load(config.table_uri("silver", "flows"))
              .where(F.col("day").between(F.lit(START), F.lit(END))).where("direction != 'inbound'"))
    rows = silver.groupBy("range_name", "service", "category").agg(F.sum("bytes").alias("bytes")).toPandas()
    moved = rows.assign(category=rows["category"].where(rows["service"] != MOVED, "search"))

    def shares(frame):
        per_category = frame.groupby(["range_name", "category"])["bytes"].sum()
        return per_category / per_category.groupby("range_name").transform("sum")

    return pd.DataFrame({"published": shares(rows), "what_if": shares(moved)}).fillna(0.0)


def test_whatif_moves_baidus_bytes_to_search_and_leaves_the_published_tables_alone(spark, gold_lake, tmp_path):
    config, _ = gold_lake
    warehouse = local_path(config.warehouse_uri)
    before = delta_versions(spark, warehouse)
    folder, compared = run_whatif(spark, config, str(baidu_as_search(tmp_path)), config.silver.geo_source, START, END,
                                  datetime(2026, 1, 2, tzinfo=timezone.utc), Progress("test"))

    assert delta_versions(spark, warehouse) == before
    assert len(before) >= 9  # bronze, silver and every gold table
    assert not local_path(folder).is_relative_to(warehouse)

    expected = expected_shares(spark, config)
    baidu_ranges = {r for r, category in expected.index if category == "search" and expected.loc[(r, category),
                                                                                                   "what_if"] > 0}
    assert baidu_ranges, "the generated window has no Baidu traffic to move"
    shares = compared[compared["figure"].isin(["headline share", "category share"])]
    assert set(shares["period"]) == {"2017-10"}
    got = shares.set_index(["range_name", "item"])[["published", "what_if"]].sort_index()
    # gold's shares are rounded to 4 places
    assert got.to_numpy() == pytest.approx(expected.loc[got.index].to_numpy(), abs=1e-4)
    assert set(got.index) == set(expected.index)
    moved = compared[compared["change"] != 0]
    assert set(zip(moved["figure"], moved["item"])) == {("headline share", "chinese_services"),
                                                         ("category share", "search")}
    assert set(moved["range_name"]) == baidu_ranges
    # A rebuild under the same rules elsewhere finds the same miners on the same days.
    mining = compared[compared["figure"] == "mining host"]
    assert len(mining) > 0 and (mining["change"] == 0).all()
    # No month is whole in a three-day window, so no presence flag is compared.
    assert (compared["figure"] != "overseas flag").all()

    report = local_path(folder)
    assert "chinese_services" in (report / "report.html").read_text()
    headline_csv = pd.read_csv(report / "headline_shares.csv")
    assert len(headline_csv) == (compared["figure"] == "headline share").sum()

    with pytest.raises(PipelineStopped, match="has no rows from 2016-01-01 to 2016-01-02"):
        run_whatif(spark, config, "", config.silver.geo_source, date(2016, 1, 1), date(2016, 1, 2),
                   datetime(2026, 1, 2, tzinfo=timezone.utc), Progress("test"))
    assert delta_versions(spark, warehouse) == before
