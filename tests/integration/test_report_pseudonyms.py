"""A mailed report, with `reports.pseudonymise` left unset: no internal address of the monitored
ranges is left in any rendered file (HTML, CSV, PNG) or in the mail, and the crypto report names
its hosts by their keyed pseudonyms instead. Renders from the shared `gold_lake`
(tests/integration/conftest.py)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from flowlake.config import ReportSettings
from flowlake.progress import Progress
from flowlake.reports.job import run_report
from tests.integration.conftest import REPORTS_RUN_TIME

pytestmark = pytest.mark.integration
KEY_ENV = "FLOWLAKE_TEST_PSEUDONYM_KEY"


def internal_addresses(spark, config) -> set[str]:
    silver = spark.read.format("delta").load(config.table_uri("silver", "flows"))
    return {r.internal_ip for r in silver.select("internal_ip").distinct().collect()}


def files_naming(folder: Path, addresses: set[str]) -> list[str]:
    """Files under `folder` holding any of `addresses` whole (not as part of a longer one)."""
    pattern = re.compile(rb"(?<![0-9a-fA-F.:])(" + b"|".join(re.escape(a.encode()) for a in sorted(addresses))
                         + rb")(?![0-9a-fA-F.:])")
    return sorted(f"{path}: {match.group(1).decode()}" for path in folder.rglob("*") if path.is_file()
                  for match in [pattern.search(path.read_bytes())] if match)


def test_a_mailed_report_is_pseudonymised_by_default_and_names_no_internal_address(spark, gold_lake, tmp_path,
                                                                                    monkeypatch, smtp_maildir):
    config, _ = gold_lake
    monkeypatch.setenv(KEY_ENV, "flowlake-test-pseudonym-key")
    settings = ReportSettings(local_timezone="Asia/Pyongyang", pseudonym_key_env=KEY_ENV,
                              recipients=("analyst@flowlake.test",), allowed_recipients=("@flowlake.test",))
    config = replace(config, reports_uri=f"file://{tmp_path}", reports=settings)
    result = run_report(spark, config, "crypto", date(2017, 10, 31), REPORTS_RUN_TIME, True, False, Progress("test"))

    addresses = internal_addresses(spark, config)
    assert result["emailed"] and addresses and files_naming(tmp_path, addresses) == []
    mail = tmp_path / "mail.eml"
    mail.write_bytes(next(m for m in smtp_maildir if m["Message-ID"] == result["message_id"]).as_bytes())
    assert files_naming(tmp_path, addresses) == []
    html = (tmp_path / "crypto" / "2017-10-01_2017-10-31" / "report.html").read_text()
    assert re.search(r"host-[0-9a-f]{16}", html)
    assert any(re.match(r"host-[0-9a-f]{16} ", line) for line in result["report"].headlines)


def test_the_other_reports_count_internal_hosts_but_never_name_them(spark, reports):
    config, _ = reports
    addresses = internal_addresses(spark, config)
    folder = Path(config.reports_uri[len("file://"):])
    assert files_naming(folder / "trend", addresses) == [] and files_naming(folder / "overseas", addresses) == []
