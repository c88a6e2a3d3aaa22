"""Unit tests for what a delivery records and how it is read back (flowlake.reports.reproduce):
the manifest written from a report, its parsing with errors naming the file and key, and the
comparison of delivered and reproduced files."""

from __future__ import annotations

import json
from contextlib import nullcontext
from datetime import date, datetime, timezone

import pytest

from flowlake.config import Config, GoldSettings, MonitoredRange, ReportSettings
from flowlake.reports.document import Report
from flowlake.reports.reproduce import ManifestError, compare_files, delivery_manifest, parse_manifest
from flowlake.periods import ReportWindow

URI = "file:///reports/trend/2017-05-01_2017-10-31/manifest.json"
REFERENCES = {"service catalog": "2026.11", "public suffix list": "psl-1", "geo database": "iptocc 2.1",
              "ASN database": "asn 7"}


def delivered_report() -> Report:
    provenance = {"data window": "2017-05-01 to 2017-10-31", "silver.flows": "version 3 (file:///w/silver/flows)",
                  **REFERENCES, "generated at": "2026-01-01T00:00:00+00:00"}
    return Report("trend", "Trend", ReportWindow("trend", date(2017, 5, 1), date(2017, 10, 31)), [], [], provenance,
                  {"silver.flows": ("file:///w/silver/flows", 3), "gold.served_daily": ("file:///w/gold/served_daily", 0)},
                  pseudonymised=True)


def config() -> Config:
    return Config(path="c.yaml", raw_uri="file:///r", warehouse_uri="file:///w", reports_uri="file:///reports",
                  monitored_ranges=(MonitoredRange("kp", ("175.45.176.0/22",)),),
                  reports=ReportSettings(recipients=("a@x.test",), allowed_recipients=("@x.test",), bootstrap_seed=7),
                  gold=GoldSettings(presence_min_days=4))


def test_a_delivery_manifest_reads_back_as_what_the_report_used():
    text = json.dumps(delivery_manifest(config(), delivered_report()))
    manifest = parse_manifest(text, URI)
    assert manifest.delivery == "trend/2017-05-01_2017-10-31" and manifest.name == "trend"
    assert manifest.as_of == date(2017, 10, 31)
    assert manifest.delivered_at == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert manifest.tables == {"silver.flows": ("file:///w/silver/flows", 3),
                               "gold.served_daily": ("file:///w/gold/served_daily", 0)}
    assert manifest.references == REFERENCES
    # The settings come back as the same objects (JSON turns the tuples into lists).
    assert ReportSettings(**manifest.settings["reports"]) == config().reports
    assert GoldSettings(**manifest.settings["gold"]) == config().gold
    assert manifest.pseudonymised


def test_recorded_settings_this_flowlake_does_not_take_are_refused_naming_the_key():
    from flowlake.reports.job import ReportRefused, config_from_manifest

    raw = delivery_manifest(config(), delivered_report())
    raw["settings"]["gold"] |= {"presence_min_weeks": 2, "presence_min_days": "4"}
    with pytest.raises(ReportRefused) as err:
        config_from_manifest(config(), parse_manifest(json.dumps(raw), URI))
    assert str(err.value) == (
        "trend/2017-05-01_2017-10-31: its recorded settings do not fit this flowlake: gold.presence_min_days: "
        "expected an integer, got '4'; gold.presence_min_weeks: unknown key (did you mean presence_min_days?); "
        "known keys: presence_min_activity_ratio, presence_min_local_domains, presence_min_days, presence_min_hosts, "
        "crypto_same_tolerance, mining_min_pool_hours, mining_min_p2p_peers")
    assert config_from_manifest(config(), parse_manifest(manifest_with(), URI)) == config()


def manifest_with(**changes) -> str:
    raw = delivery_manifest(config(), delivered_report())
    raw.update(changes)
    return json.dumps(raw)


@pytest.mark.parametrize("text, message", [
    ("{", "not JSON"),
    ("[]", "expected a JSON object"),
    (manifest_with(name="weekly"), "name 'weekly' is not one of trend, overseas, crypto"),
    (manifest_with(as_of="31/10/2017"), "as_of or delivered_at is not an ISO date"),
    (manifest_with(tables={}), "tables is empty"),
    (manifest_with(tables={"silver.flows": {"location": "file:///w/silver/flows", "version": "3"}}),
     "tables.silver.flows.version is '3', expected a int"),
    (manifest_with(tables={"silver.flows": {"location": "file:///w/silver/flows", "version": -1}}),
     "tables.silver.flows.version is -1, expected a Delta version"),
    (manifest_with(tables={"silver.flows": {"version": 3}}), "tables.silver.flows.location is None"),
    (manifest_with(references={"service catalog": "2026.11"}),
     "references lacks public suffix list, geo database, ASN database"),
    (manifest_with(settings={"reports": {}}), "settings.gold is None, expected a dict"),
    (manifest_with(pseudonymised="yes"), "pseudonymised is 'yes', expected a bool"),
])
def test_a_bad_manifest_is_refused_naming_the_file_and_the_key(text, message):
    with pytest.raises(ManifestError) as err:
        parse_manifest(text, URI)
    assert str(err.value).startswith(URI) and message in str(err.value)


def html(generated_at: str, body: str = "<p>42%</p>") -> bytes:
    return f"{body}<dt>generated at</dt><dd>{generated_at}</dd>".encode()


def test_files_differ_in_nothing_but_the_generation_time():
    delivered = {"report.html": html("2026-01-01T00:00:00+00:00"), "shares.csv": b"a,b\n1,2\n", "shares.png": b"\x89PNG"}
    same = {**delivered, "report.html": html("2026-11-30T13:00:00+00:00")}
    assert compare_files(delivered, same) == []
    changed = {"report.html": html("2026-11-30T13:00:00+00:00", "<p>43%</p>"), "shares.csv": b"a,b\n1,3\n",
               "weekly.csv": b"w\n"}
    assert compare_files(delivered, changed) == ["report.html: differs", "shares.csv: differs",
                                                 "shares.png: not rendered again", "weekly.csv: not in the delivery"]
    assert compare_files({**delivered, "shares.csv": None}, delivered) == ["shares.csv: not in the delivery"]


@pytest.mark.parametrize("manifest, message", [
    (None, "ReportRefused: {manifest} does not exist"),
    ("{", "ManifestError: {manifest}: not JSON"),
    (manifest_with(name="overseas", references={**REFERENCES, "service catalog": "1999.1"}),
     "ReportRefused: trend/2017-05-01_2017-10-31 used service catalog 1999.1, this flowlake has"),
])
def test_flowlake_report_reproduce_refuses_a_folder_it_cannot_use_before_spark_starts(
        tmp_path, monkeypatch, capsys, manifest, message):
    from flowlake import cli

    folder = tmp_path / "overseas" / "2017-10-01_2017-10-31"
    folder.mkdir(parents=True)
    if manifest is not None:
        (folder / "manifest.json").write_text(manifest)
    config = tmp_path / "flowlake.yaml"
    config.write_text("monitored_ranges: [{name: kp, cidrs: ['175.45.176.0/22']}]\n")
    monkeypatch.setattr("flowlake.runner.writing_session", lambda *args: pytest.fail("a Spark session started"))
    assert cli.main(["report", "--config", str(config), "--reproduce", str(folder)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("flowlake: " + message.format(manifest=f"file://{folder}/manifest.json")), error


def test_flowlake_report_reproduce_takes_nothing_but_the_folder(tmp_path):
    from flowlake import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(["report", "--config", str(tmp_path / "c.yaml"), "--reproduce", str(tmp_path), "--name", "trend"])
    assert exit_.value.code == 2


def test_a_reproduction_whose_files_differ_stops_the_command_naming_them(tmp_path, monkeypatch, capsys):
    from flowlake import cli

    folder = tmp_path / "crypto" / "2017-10-01_2017-10-31"
    folder.mkdir(parents=True)
    config = tmp_path / "flowlake.yaml"
    config.write_text("monitored_ranges: [{name: kp, cidrs: ['175.45.176.0/22']}]\n")
    differences = ["crypto_hosts.csv: line 3 differs"]
    monkeypatch.setattr("flowlake.reports.job.prepare", lambda *args, **options: None)
    monkeypatch.setattr("flowlake.runner.writing_session", lambda *args: nullcontext())
    monkeypatch.setattr("flowlake.reports.job.reproduce_report", lambda *args: {
        "files": [f"{folder}/reproduced/report.html"], "differences": differences})
    assert cli.main(["report", "--config", str(config), "--reproduce", str(folder)]) == 1
    assert capsys.readouterr().err.startswith(
        f"flowlake: ReportRefused: {folder}: rendered again, 1 files differ: crypto_hosts.csv: line 3 differs")
