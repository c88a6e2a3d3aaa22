"""The three reports rendered from gold over four generated months, checked against the gold
tables and the planted truth, and delivered: files to disk and the local S3 server, mail to
the local SMTP server (decoded and compared), once per period, retried when SMTP is down."""

from __future__ import annotations

import base64
import json
import re
import shutil
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from io import StringIO

import pandas as pd
import pytest
from markupsafe import escape
from pyspark.sql import functions as F

from flowlake.progress import Progress
from flowlake.reports.deliver import DeliveryFailed, SmtpServer, deliver
from flowlake.reports.document import report_files
from flowlake.reports.job import published_unchanged, run_report
from flowlake.storage import list_objects, local_path, s3_client
from tests.integration.conftest import REPORTS_RUN_TIME

pytestmark = pytest.mark.integration


def published(config, name: str, file: str) -> bytes:
    report = next(iter(local_path(f"{config.reports_uri}/{name}").iterdir()))
    return (report / file).read_bytes()


def csv(config, name: str, file: str) -> pd.DataFrame:
    return pd.read_csv(StringIO(published(config, name, file).decode()))


def gold(spark, config, table):
    return spark.read.format("delta").load(config.table_uri("gold", table))


def test_trend_shares_are_gold_bytes_over_the_range_total(spark, reports):
    config, _ = reports
    usage = gold(spark, config, "service_usage_daily").where("day <= DATE'2017-10-31'")
    totals = {(r.month, r.range_name, r.category): r.bytes for r in usage.groupBy(
        F.date_format("day", "yyyy-MM").alias("month"), "range_name", "category").agg(F.sum("bytes").alias("bytes"))
        .collect()}
    for range_name in ("kp", "china_netcom", "satgate"):
        table = csv(config, "trend", f"monthly_shares_{range_name}.csv")
        assert sorted(table["month"].unique()) == ["2017-07", "2017-08", "2017-09", "2017-10"]
        assert {(r.month, range_name, r.category): r.bytes for r in table.itertuples()} == \
            {k: v for k, v in totals.items() if k[1] == range_name}
        month_total = table.groupby("month")["bytes"].transform("sum")
        assert (table["bytes_share"] - (table["bytes"] / month_total).round(4)).abs().max() < 1e-9


def test_trend_headlines_and_shift_month_come_from_the_data(reports, gold_lake):
    config, results = reports
    html = published(config, "trend", "report.html").decode()
    truth = gold_lake[1]
    for range_name in ("kp", "china_netcom", "satgate"):
        table = csv(config, "trend", f"monthly_shares_{range_name}.csv")
        shares = table.pivot(index="month", columns="category", values="bytes_share").fillna(0.0)
        headline = next(h for h in results["trend"]["report"].headlines if h.startswith(f"{range_name}: "))
        for category in ("western_social", "chinese_services"):
            first, first_low, first_high, last, last_low, last_high = re.search(
                category + r" (?:fell|rose|held) from (\d+)% \[(\d+)%-(\d+)%\] to (\d+)% \[(\d+)%-(\d+)%\]",
                headline).groups()
            assert (int(first), int(last)) == (round(shares[category].iloc[0] * 100),
                                               round(shares[category].iloc[-1] * 100))
            assert int(first_low) <= int(first) <= int(first_high) and int(last_low) <= int(last) <= int(last_high)
        assert re.search(r"western_social fell from \d+% \[.*\] to \d+%.*chinese_services rose", headline), headline
        assert escape(headline) in html
        month = pd.Timestamp(truth["crossover_month"][range_name] + "-01").strftime("%B %Y")
        assert f"chinese_services overtook western_social in {month}." in html


def test_trend_dates_the_planted_shift_and_not_the_outage_with_intervals_on_every_share(reports, gold_lake):
    """The generated months have their shift on one day and a week's outage of the Western
    platforms a month before: each range's change point of both categories brackets the shift
    day, none is near the outage, and every weekly and monthly share lies inside its interval."""
    config, results = reports
    truth = gold_lake[1]
    shift_day, outage = truth["shift_day"], truth["outage_days"]
    assert outage and outage[0] < shift_day
    for range_name in ("kp", "china_netcom", "satgate"):
        changes = csv(config, "trend", f"change_points_{range_name}.csv")
        # Western social's fall (3 points to 0.3) is found on every range. China's rise is found
        # where the range has hosts enough: on satgate, the fewest, fewer than 90% of resamples
        # confirm it (seed 5) and it is not reported, a miss, never a wrong date.
        assert (changes["category"] == "western_social").sum() == 1, (range_name, changes)
        for category in ("western_social", "chinese_services"):
            mine = changes[changes["category"] == category]
            assert len(mine) <= 1, (range_name, category, changes)
            assert (mine["from_day"] <= shift_day).all() and (shift_day <= mine["to_day"]).all(), (range_name, mine)
        if range_name != "satgate":
            assert (changes["category"] == "chinese_services").sum() == 1, (range_name, changes)
        # a dip called a change would start a level in the outage's weeks or the week after
        outage_weeks = pd.date_range(pd.Timestamp(outage[0]) - pd.Timedelta(days=pd.Timestamp(outage[0]).weekday()),
                                     pd.Timestamp(outage[-1]) + pd.Timedelta(days=7), freq="W-MON")
        assert not changes["change_week"].isin(outage_weeks.strftime("%Y-%m-%d")).any(), changes
        headline = next(h for h in results["trend"]["report"].headlines
                        if h.startswith(f"{range_name}: the weekly share of bytes of western_social fell"))
        assert re.search(r"between week \d{4}-W\d{2} and week \d{4}-W\d{2} ", headline), headline
        for name in (f"weekly_shares_{range_name}", f"monthly_shares_{range_name}"):
            table = csv(config, "trend", f"{name}.csv")
            assert ((table["bytes_share_low"] <= table["bytes_share"] + 1e-4)
                    & (table["bytes_share"] <= table["bytes_share_high"] + 1e-4)).all(), name


def test_trend_weekday_hour_heat_map_counts_every_flow_the_hosts_started(spark, reports):
    config, _ = reports
    silver = spark.read.format("delta").load(config.table_uri("silver", "flows"))
    for range_name in ("kp", "satgate"):
        matrix = csv(config, "trend", f"weekday_hour_{range_name}.csv")
        assert list(matrix["weekday"]) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        expected = silver.where(f"range_name = '{range_name}' AND day <= DATE'2017-10-31' "
                                "AND direction <> 'inbound'").agg(F.sum("flows")).first()[0]
        assert int(matrix.drop(columns="weekday").to_numpy().sum()) == expected


def test_every_report_says_what_its_figures_rest_on(spark, reports, gold_lake):
    config, results = reports
    for name in ("trend", "overseas", "crypto"):
        headline = results[name]["report"].headlines[-1]
        assert headline.startswith("Coverage of these figures (share of bytes): ") and "; kp " in headline
        coverage = csv(config, name, "coverage.csv")
        assert set(coverage["range_name"]) == {"kp", "china_netcom", "satgate"}
    # the trend's months carry it beside their shares; the sampled border link carries traffic to China
    kp = csv(config, "trend", "monthly_shares_kp.csv")
    assert (kp["estimated_share"] > 0).all() and (kp["estimated_share"] < 1).all()
    served = csv(config, "trend", "served.csv")
    assert {443, 22}.issubset(set(served.loc[served["range_name"] == "kp", "internal_port"]))


def test_overseas_report_ranks_the_planted_countries_with_gold_figures_and_evidence(spark, reports, gold_lake):
    config, results = reports
    flagged = csv(config, "overseas", "flagged_countries.csv")
    assert set(flagged["country"]) == set(gold_lake[1]["overseas_countries"])
    assert list(flagged["activity_ratio"]) == sorted(flagged["activity_ratio"], reverse=True)
    rows = {r.country: r for r in gold(spark, config, "overseas_presence")
            .where("period_start = DATE'2017-09-01'").collect()}
    html = published(config, "overseas", "report.html").decode()
    for r in flagged.itertuples():
        assert (r.activity_ratio, r.local_domains, r.local_days, r.local_hosts, r.evidence) == \
            (rows[r.country].activity_ratio, rows[r.country].local_domains, rows[r.country].local_days,
             rows[r.country].local_hosts, rows[r.country].evidence)
        assert r.evidence in html
        assert r.ratio_low <= r.activity_ratio <= r.ratio_high and r.ratio_low < r.ratio_high
        assert f"{r.country} (activity {r.activity_ratio:.1f}x [{r.ratio_low:.1f}-{r.ratio_high:.1f}x] the mean" in \
            results["overseas"]["report"].headlines[0]
    assert "New since the month before: none. Dropped: none." in results["overseas"]["report"].headlines


def test_crypto_report_compares_each_miner_with_the_month_before_in_gold_numbers(spark, reports, gold_lake):
    config, results = reports
    daily = gold(spark, config, "crypto_activity_daily")
    flows = {(r.internal_ip, r.coin, r.month): r.flows for r in daily.groupBy(
        "internal_ip", "coin", F.date_format("day", "yyyy-MM").alias("month")).agg(F.sum("flows").alias("flows"))
        .collect()}
    comparison = csv(config, "crypto", "comparison.csv")
    for r in comparison.itertuples():
        assert r.current_flows == flows.get((r.internal_ip, r.coin, "2017-10"), 0)
        assert r.previous_flows == flows.get((r.internal_ip, r.coin, "2017-09"), 0)
        assert r.volume_change in {"same", "higher", "lower", "new", "stopped"}
    active = {(m["internal_ip"], m["coin"]) for m in gold_lake[1]["miners"]
              if m["first_day"] <= "2017-10-31" and m["last_day"] >= "2017-09-01"}
    assert set(zip(comparison["internal_ip"], comparison["coin"])) == active
    hosts = csv(config, "crypto", "hosts.csv")
    assert dict(zip(zip(hosts["internal_ip"], hosts["coin"]), hosts["flows"])) == \
        {(ip, coin): n for (ip, coin, month), n in flows.items() if month == "2017-10"}
    html = published(config, "crypto", "report.html").decode()
    assert all(escape(line) in html for line in results["crypto"]["report"].headlines)
    # The decoys are listed apart, as contacts, and no headline speaks of them.
    october = gold(spark, config, "crypto_contacts_daily").where("day BETWEEN DATE'2017-10-01' AND DATE'2017-10-31'")
    contacts = csv(config, "crypto", "contacts.csv")
    assert dict(zip(zip(contacts["internal_ip"], contacts["coin"], contacts["kind"]), contacts["flows"])) == \
        {(r.internal_ip, r.coin, r.kind): r.flows for r in october.groupBy("internal_ip", "coin", "kind")
         .agg(F.sum("flows").alias("flows")).collect()}
    assert len(contacts) and "Contacts, not mining" in html
    miners = {m["internal_ip"] for m in gold_lake[1]["miners"]}
    named = {ip for line in results["crypto"]["report"].headlines for ip in re.findall(r"\d+\.\d+\.\d+\.\d+", line)}
    assert named == miners


def test_every_report_is_self_contained_with_its_charts_inline_and_provenance(reports):
    config, results = reports
    for name, result in results.items():
        html = published(config, name, "report.html").decode()
        assert not re.search(r"(src|href)=\"(https?:)?//", html), name
        images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
        charts = [s for s in result["report"].sections if s.chart]
        assert [base64.b64decode(i) for i in images] == [s.chart for s in charts]
        assert all(published(config, name, f"{s.name}.png") == s.chart for s in charts)
        for key in ("data window", "generated at", "service catalog", "geo database"):
            assert f"<dt>{key}</dt>" in html
        assert re.search(r"gold\.\w+</dt><dd>version \d+", html), name
    assert "<dd>2026-01-01T00:00:00+00:00</dd>" in published(config, "trend", "report.html").decode()


def test_rendering_the_same_gold_again_gives_the_same_files(spark, reports):
    config, results = reports
    report = results["crypto"]["report"]
    again = run_report(spark, config, "crypto", report.window.end, REPORTS_RUN_TIME, False, False, Progress("test"))
    assert report_files(again["report"]) == report_files(results["crypto"]["report"])


def test_a_report_published_from_the_current_tables_and_settings_is_not_rendered_again(spark, reports):
    config, results = reports
    window = results["crypto"]["report"].window
    folder = f"{config.reports_uri}/crypto/{window.label}"
    manifest = local_path(f"{folder}/manifest.json")
    delivered = manifest.read_bytes()
    newer = json.loads(delivered)
    newer["tables"]["gold.crypto_activity_daily"]["version"] += 1
    other_settings = replace(config, reports=replace(config.reports, retry_seconds=1.0))

    assert published_unchanged(spark, config, window) == folder
    assert published_unchanged(spark, other_settings, window) is None
    try:
        manifest.write_text(json.dumps(newer))  # as if delivered from another version of a table
        assert published_unchanged(spark, config, window) is None
    finally:
        manifest.write_bytes(delivered)


def test_mail_carries_the_html_and_every_csv_once_per_period_unless_resent(reports, gold_lake, smtp_maildir):
    config, results = reports
    report = results["overseas"]["report"]
    files = report_files(report)
    before = len(smtp_maildir)
    first = deliver(config, report, True, False, Progress("test"))
    assert first["emailed"] and len(smtp_maildir) == before + 1
    message = next(m for m in smtp_maildir if m["Message-ID"] == first["message_id"])
    assert message["To"] == "analyst@flowlake.test"
    assert message["Subject"] == "flowlake overseas report, 2017-09-01 to 2017-09-30"
    parts = {part.get_filename() or part.get_content_type(): part.get_payload(decode=True)
             for part in message.walk() if not part.is_multipart()}
    assert parts["text/html"] == files["report.html"]
    assert {k: v for k, v in parts.items() if k.endswith(".csv")} == \
        {k: v for k, v in files.items() if k.endswith(".csv")}
    assert f"{len(gold_lake[1]['overseas_countries'])} countries flagged".encode() in parts["text/plain"]

    assert not deliver(config, report, True, False, Progress("test"))["emailed"]
    assert len(smtp_maildir) == before + 1
    assert deliver(config, report, True, True, Progress("test"))["emailed"]
    assert len(smtp_maildir) == before + 2


def test_a_send_that_keeps_failing_is_retried_reported_and_the_report_kept(reports, smtp_maildir, tmp_path):
    config, results = reports
    config = replace(config, reports_uri=f"file://{tmp_path}/reports")
    report = results["crypto"]["report"]
    down = SmtpServer("127.0.0.1", 9, None, None)  # the discard port: nothing listens
    said = StringIO()
    with pytest.raises(DeliveryFailed, match="not sent after 3 attempts"):
        deliver(config, report, True, False, Progress("test", stream=said), server=down)
    assert "email attempt 3 of 3 failed: ConnectionRefusedError" in said.getvalue()
    prefix = local_path(f"{config.reports_uri}/crypto/{report.window.label}")
    assert (prefix / "report.html").is_file() and not (prefix / "delivery.json").exists()
    # The re-run sends it: nothing was recorded as delivered.
    before = len(smtp_maildir)
    assert deliver(config, report, True, False, Progress("test"))["emailed"]
    assert len(smtp_maildir) == before + 1


def test_delivery_to_s3_uses_stable_keys_and_an_index(reports, s3_endpoint):
    config, results = reports
    config = replace(config, reports_uri="s3a://flowlake-reports/reports")
    client = s3_client(config.s3)
    client.create_bucket(Bucket="flowlake-reports")
    for result in results.values():
        deliver(config, result["report"], False, False, Progress("test"))
    keys = list_objects(config.reports_uri, config.s3)
    for result in results.values():
        deliver(config, result["report"], False, False, Progress("test"))
    assert list_objects(config.reports_uri, config.s3) == keys
    labels = {name: result["report"].window.label for name, result in results.items()}
    assert {k.split("/")[4:6][0] for k in keys if k.endswith("report.html")} == set(labels)
    assert f"s3a://flowlake-reports/reports/trend/{labels['trend']}/monthly_shares_kp.csv" in keys
    index = client.get_object(Bucket="flowlake-reports", Key="reports/index.html")["Body"].read().decode()
    assert all(f'href="{name}/{label}/report.html"' in index for name, label in labels.items())


def test_a_delivery_renders_again_from_its_manifest_into_reproduced(spark, reports):
    """make test's reduced form of the next test: the crypto delivery (the cheapest to render)
    rendered again from its manifest gives the same files but for the generation time."""
    from flowlake.reports.job import reproduce_report

    config, results = reports
    folder = f"{config.reports_uri}/crypto/{results['crypto']['report'].window.label}"
    again = reproduce_report(spark, config, folder, datetime(2026, 11, 30, tzinfo=timezone.utc), Progress("test"))
    assert again["differences"] == []
    reproduced = {p.name: p.read_bytes() for p in (local_path(folder) / "reproduced").iterdir()}
    assert reproduced == {k: v.replace(b"2026-01-01T00:00:00+00:00", b"2026-11-30T00:00:00+00:00")
                          for k, v in report_files(results["crypto"]["report"]).items()}
    assert again["report"].table_versions == results["crypto"]["report"].table_versions


@pytest.mark.reproduce_full
def test_a_delivered_report_is_reproduced_exactly_after_the_tables_change_and_maintenance(spark, reports, tmp_path):
    """Issue 21.1: the trend report is delivered from a copy of the trend's three tables; then a
    new day is published, a catalog change reclassifies a service in silver and gold, and
    maintenance compacts and vacuums (retention 0 hours). Rendered again from its manifest,
    every file but report.html's generation time and every section's table equal the
    delivered ones. Once the delivery is older than `maintenance.reproducible_days`, the next
    maintenance deletes its versions' files and the reproduction refuses, naming the table and
    version."""
    from delta.tables import DeltaTable

    from flowlake.config import MaintenanceSettings
    from flowlake.maintenance import run_maintenance
    from flowlake.reports.job import ReportRefused, TABLES, reproduce_report
    from flowlake.tables import set_properties, table_version

    config, _ = reports
    for layer, table in TABLES["trend"]:  # the trend's tables only: maintenance then has three to do
        shutil.copytree(local_path(config.table_uri(layer, table)), tmp_path / "warehouse" / layer / table)
    config = replace(config, warehouse_uri=f"file://{tmp_path}/warehouse", reports_uri=f"file://{tmp_path}/reports",
                     maintenance=MaintenanceSettings(vacuum_retention_hours=0))
    first = run_report(spark, config, "trend", date(2017, 10, 31), REPORTS_RUN_TIME, False, False, Progress("test"))
    folder = f"{config.reports_uri}/trend/{first['report'].window.label}"
    delivered = {p.name: p.read_bytes() for p in local_path(folder).iterdir() if p.is_file()}
    pinned = first["report"].table_versions

    # A new day: 2017-10-31's rows again as 2017-11-01, in each table.
    for layer, table in TABLES["trend"]:
        path = config.table_uri(layer, table)
        rows = spark.read.format("delta").load(path).where("day = DATE'2017-10-31'")
        rows.withColumn("day", F.lit(date(2017, 11, 1))).write.format("delta").mode("append").save(path)
    # A catalog change: the window's most used Chinese service becomes 'other' in silver and gold.
    usage_path, silver_path = config.table_uri("gold", "service_usage_daily"), config.table_uri("silver", "flows")
    service = (spark.read.format("delta").load(usage_path).where("category = 'chinese_services'")
               .groupBy("service").agg(F.sum("bytes").alias("bytes")).orderBy(F.desc("bytes")).first().service)
    for path in (usage_path, silver_path):
        DeltaTable.forPath(spark, path).update(F.col("service") == service, {"category": F.lit("other")})
    set_properties(spark, silver_path, {"catalog_version": "reclassified"})

    said = StringIO()
    run_maintenance(spark, config, REPORTS_RUN_TIME.date(), Progress("test", stream=said))
    assert f"1 deliveries recorded; the 1 delivered within 400 days of {REPORTS_RUN_TIME.date()}" in said.getvalue()
    for name, (_, version) in pinned.items():
        assert re.search(rf"{re.escape(name)}: keeps version {version} for trend/{first['report'].window.label}; "
                         r"VACUUM retains 24h \(configured 0h\)", said.getvalue()), said.getvalue()
        assert table_version(spark, config.table_uri(*name.split("."))) > version

    again = reproduce_report(spark, config, folder, datetime(2026, 11, 30, tzinfo=timezone.utc), Progress("test"))
    assert again["differences"] == []
    reproduced = {p.name: p.read_bytes() for p in (local_path(folder) / "reproduced").iterdir()}
    assert reproduced.keys() == delivered.keys() - {"manifest.json"}
    assert {k: v for k, v in reproduced.items() if k != "report.html"} == \
        {k: v for k, v in delivered.items() if k not in ("report.html", "manifest.json")}
    assert reproduced["report.html"].replace(b"2026-11-30T00:00:00+00:00", b"2026-01-01T00:00:00+00:00") == \
        delivered["report.html"]
    for before, after in zip(first["report"].sections, again["report"].sections, strict=True):
        assert before.name == after.name
        if before.table is not None:
            pd.testing.assert_frame_equal(after.table, before.table, check_exact=True)
    assert again["report"].headlines == first["report"].headlines

    # 401 days on, the delivery pins nothing: VACUUM (0 hours) deletes what only its versions read.
    said = StringIO()
    run_maintenance(spark, config, REPORTS_RUN_TIME.date() + timedelta(days=401), Progress("test", stream=said))
    assert "the 0 delivered within 400 days" in said.getvalue() and "keeps version" not in said.getvalue()
    version = pinned["gold.service_usage_daily"][1]
    with pytest.raises(ReportRefused, match=rf"gold\.service_usage_daily version {version} .*which delivery "
                                            rf"trend/\S+ read, has lost \d+ of its \d+ data files to VACUUM"):
        reproduce_report(spark, config, folder, datetime(2026, 11, 30, tzinfo=timezone.utc), Progress("test"))
