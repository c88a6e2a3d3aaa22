"""Unit tests for the reports' pure parts: windows, trend figures and headlines, overseas
ranking, crypto host activity, HTML escaping, mail retries and the recipient allow-list."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from flowlake.config import ReportSettings, recipient_allowed
from flowlake.progress import Progress
from flowlake.reports.crypto import contact_activity, host_activity
from flowlake.reports.deliver import DeliveryFailed, SmtpServer, send_with_retries
from flowlake.reports.document import Report, Section, render_html, report_files
from flowlake.reports.job import ReportRefused, check_shares
from flowlake.reports.overseas import ranked_countries, with_ratio_intervals
from flowlake.reports.trend import category_shares, headlines, heat_matrix, shift_month, weekend_ratio
from flowlake.periods import ReportWindow, report_window


def usage(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["day", "range_name", "service", "category", "flows", "bytes"])


def test_windows_end_on_as_of_and_compare_with_an_earlier_month():
    settings = ReportSettings(crypto_compare_months_back=6)
    assert report_window("trend", date(2017, 12, 31), settings) == \
        ReportWindow("trend", date(2017, 7, 1), date(2017, 12, 31))
    assert report_window("overseas", date(2018, 3, 15), settings) == \
        ReportWindow("overseas", date(2018, 3, 1), date(2018, 3, 15), date(2018, 2, 1), date(2018, 2, 28))
    assert report_window("crypto", date(2018, 1, 31), settings) == \
        ReportWindow("crypto", date(2018, 1, 1), date(2018, 1, 31), date(2017, 7, 1), date(2017, 7, 31))
    assert report_window("trend", date(2017, 12, 31), settings).label == "2017-07-01_2017-12-31"
    with pytest.raises(ValueError, match="unknown report 'weekly'"):
        report_window("weekly", date(2017, 12, 31), settings)


def test_category_shares_per_month_and_iso_week():
    rows = usage((date(2017, 7, 3), "kp", "facebook", "western_social", 3, 300),
                 (date(2017, 7, 9), "kp", "qq", "chinese_services", 1, 100),
                 (date(2017, 7, 10), "kp", "qq", "chinese_services", 2, 600))
    monthly = category_shares(rows, "month")
    assert monthly.to_dict("records") == [
        {"period": "2017-07", "range_name": "kp", "category": "chinese_services", "flows": 3, "bytes": 700,
         "flows_share": 0.5, "bytes_share": 0.7},
        {"period": "2017-07", "range_name": "kp", "category": "western_social", "flows": 3, "bytes": 300,
         "flows_share": 0.5, "bytes_share": 0.3}]
    # 2017-07-09 is a Sunday: it belongs to the week of Monday 2017-07-03.
    weekly = category_shares(rows, "week")
    assert [(r["period"], r["category"], r["bytes_share"]) for r in weekly.to_dict("records")] == [
        ("2017-07-03", "chinese_services", 0.25), ("2017-07-03", "western_social", 0.75),
        ("2017-07-10", "chinese_services", 1.0)]


def test_trend_validation_refuses_monthly_shares_that_do_not_add_up_to_one():
    window = ReportWindow("trend", date(2017, 7, 1), date(2017, 7, 31))
    monthly = category_shares(usage((date(2017, 7, 3), "kp", "facebook", "western_social", 3, 300),
                                    (date(2017, 7, 9), "kp", "qq", "chinese_services", 1, 100)), "month")
    section = Section("monthly_shares_kp", "kp: share of bytes by category, per month", [], None,
                      monthly.rename(columns={"period": "month"}))
    check_shares(Report("trend", "Trend", window, [], [section], {}))
    section.table.loc[0, "bytes_share"] = 0.5
    with pytest.raises(ReportRefused, match=r"kp: share of bytes .* do not add up to 1 for \{\('2017-07', 'kp'\): 1\.25\}"):
        check_shares(Report("trend", "Trend", window, [], [section], {}))


def shares(*months) -> pd.DataFrame:
    rows = []
    for period, western, chinese in months:
        rows += [{"period": period, "range_name": "kp", "category": category, "bytes_share": share,
                  "bytes_share_low": share - 0.02, "bytes_share_high": share + 0.03}
                 for category, share in (("western_social", western), ("chinese_services", chinese),
                                         ("other", 1 - western - chinese))]
    return pd.DataFrame(rows)


def test_headline_and_shift_month_follow_the_two_categories():
    monthly = shares(("2017-07", 0.38, 0.03), ("2017-08", 0.30, 0.20), ("2017-09", 0.10, 0.35),
                     ("2017-12", 0.04, 0.41))
    assert headlines(monthly, "western_social", "chinese_services") == [
        "kp: western_social fell from 38% [36%-41%] to 4% [2%-7%] of bytes between July 2017 and December 2017; "
        "chinese_services rose from 3% [1%-6%] to 41% [39%-44%]."]
    assert shift_month(monthly, "kp", "western_social", "chinese_services") == "2017-09"


def test_no_shift_when_the_riser_led_all_along_or_never_led():
    assert shift_month(shares(("2017-07", 0.1, 0.5), ("2017-08", 0.05, 0.6)), "kp",
                       "western_social", "chinese_services") is None
    assert shift_month(shares(("2017-07", 0.5, 0.1), ("2017-08", 0.4, 0.2)), "kp",
                       "western_social", "chinese_services") is None
    assert headlines(shares(("2017-07", 0.5, 0.1)), "western_social", "chinese_services") == []


def test_heat_matrix_fills_every_weekday_and_hour_and_weekend_ratio():
    activity = pd.DataFrame([("kp", 0, 9, 10), ("kp", 0, 10, 10), ("kp", 5, 9, 4), ("sat", 1, 1, 99)],
                            columns=["range_name", "weekday", "hour", "flows"])
    matrix = heat_matrix(activity, "kp")
    assert matrix.shape == (7, 24) and list(matrix.index) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert (matrix.loc["Mon", 9], matrix.loc["Mon", 10], matrix.loc["Sat", 9], int(matrix.to_numpy().sum())) == \
        (10, 10, 4, 24)
    # Weekdays: 20 flows over 5 days = 4 a day; weekend: 4 over 2 days = 2 a day.
    assert weekend_ratio(matrix) == 0.5


def test_overseas_ranking_puts_flagged_countries_first_by_activity():
    presence = pd.DataFrame([
        ("NZ", True, "kept", 1.5, 4, 5, 2, "a.nz (3)", 1, 1, 1), ("US", False, None, 9.0, 0, 0, 0, "", 1, 1, 1),
        ("IN", True, "new", 3.0, 9, 20, 4, "b.in (5)", 1, 1, 1), ("KE", False, "dropped", 0.0, 0, 0, 0, "", 0, 0, 0)],
        columns=["country", "flagged", "change", "activity_ratio", "local_domains", "local_days", "local_hosts",
                 "evidence", "bytes", "flows", "hosts"])
    # KE was dropped: no activity left to resample, its interval is its ratio
    intervals = pd.DataFrame([("NZ", 1.5, 1.2, 1.9), ("US", 9.0, 7.0, 11.0), ("IN", 3.0, 2.5, 3.4)],
                             columns=["country", "activity_ratio", "ratio_low", "ratio_high"])
    ranked = ranked_countries(with_ratio_intervals(presence, intervals))
    assert list(ranked["country"]) == ["IN", "NZ", "US", "KE"]
    assert list(zip(ranked["ratio_low"], ranked["ratio_high"])) == [(2.5, 3.4), (1.2, 1.9), (7.0, 11.0), (0.0, 0.0)]


def test_crypto_host_activity_is_per_host_and_coin_over_the_current_period():
    daily = pd.DataFrame([
        (date(2018, 1, 2), "kp", "175.45.178.20", "bitcoin", "p2p", 90, 9000, 6),
        (date(2018, 1, 2), "kp", "175.45.178.20", "bitcoin", "pool", 10, 1000, 1),
        (date(2018, 1, 3), "kp", "175.45.178.20", "bitcoin", "p2p", 20, 2000, 3),
        (date(2017, 12, 31), "kp", "175.45.178.20", "bitcoin", "p2p", 500, 5000, 9)],
        columns=["day", "range_name", "internal_ip", "coin", "role", "flows", "bytes", "peers"])
    window = ReportWindow("crypto", date(2018, 1, 1), date(2018, 1, 5), date(2017, 12, 1), date(2017, 12, 31))
    assert host_activity(daily, window).to_dict("records") == [{
        "range_name": "kp", "internal_ip": "175.45.178.20", "coin": "bitcoin", "flows": 120, "bytes": 12000,
        "pool_flows": 10, "active_days": 2, "first_seen": date(2018, 1, 2), "last_seen": date(2018, 1, 3),
        "peers_per_day": 2.0, "flows_per_hour": 1.0}]


def test_crypto_contacts_are_per_host_coin_and_kind_over_the_current_period():
    contacts = pd.DataFrame([
        (date(2018, 1, 2), "kp", "175.45.178.30", "monero", "pool_web", 3, 300, 1),
        (date(2018, 1, 4), "kp", "175.45.178.30", "monero", "pool_web", 2, 200, 2),
        (date(2018, 1, 4), "kp", "175.45.178.30", "monero", "p2p", 9, 900, 1),
        (date(2017, 12, 30), "kp", "175.45.178.30", "monero", "p2p", 50, 5000, 1)],
        columns=["day", "range_name", "internal_ip", "coin", "kind", "flows", "bytes", "remote_ips"])
    window = ReportWindow("crypto", date(2018, 1, 1), date(2018, 1, 5), date(2017, 12, 1), date(2017, 12, 31))
    common = {"range_name": "kp", "internal_ip": "175.45.178.30", "coin": "monero"}
    assert contact_activity(contacts, window).to_dict("records") == [
        {**common, "kind": "p2p", "flows": 9, "bytes": 900, "active_days": 1, "most_remote_ips_in_a_day": 1,
         "first_seen": date(2018, 1, 4), "last_seen": date(2018, 1, 4)},
        {**common, "kind": "pool_web", "flows": 5, "bytes": 500, "active_days": 2, "most_remote_ips_in_a_day": 2,
         "first_seen": date(2018, 1, 2), "last_seen": date(2018, 1, 4)}]


def test_html_escapes_data_and_keeps_every_table_whole_in_its_csv():
    table = pd.DataFrame({"domain": ["<script>alert(1)</script>.kp"] + [f"d{i}.kp" for i in range(59)]})
    report = Report("overseas", "Presence & more", ReportWindow("overseas", date(2017, 7, 1), date(2017, 7, 31)),
                    ["<b>bold</b> claim"], [Section("domains", "Domains", [], None, table)], {"generated at": "now"})
    html = render_html(report)
    assert "<script>" not in html and "<td>&lt;script&gt;alert(1)&lt;/script&gt;.kp</td>" in html
    assert "<li>&lt;b&gt;bold&lt;/b&gt; claim</li>" in html and '<table class="dataframe">' in html
    assert "(20 more rows there)" in html
    assert report_files(report)["domains.csv"].decode().count("\n") == 61


def test_mail_is_retried_with_a_doubling_pause_then_reported():
    pauses, calls = [], []

    def flaky(message):
        calls.append(message)
        if len(calls) < 3:
            raise ConnectionRefusedError("connection refused")

    assert send_with_retries(flaky, "m", 3, 2.0, Progress("test"), sleep=pauses.append) == 3
    assert pauses == [2.0, 4.0]

    def down(message):
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(DeliveryFailed, match="not sent after 2 attempts: ConnectionRefusedError"):
        send_with_retries(down, "m", 2, 1.0, Progress("test"), sleep=pauses.append)


def test_recipients_must_be_on_the_allow_list():
    assert recipient_allowed("Analyst@Example.org", ("@example.org",))
    assert recipient_allowed("a@b.org", ("a@b.org",))
    assert not recipient_allowed("a@evil.org", ("@example.org", "a@b.org"))
    assert not recipient_allowed("a@notexample.org", ("@example.org",))
    with pytest.raises(ValueError, match=r"recipients\n.*\['x@evil.org'\] are not in allowed_recipients"):
        ReportSettings(recipients=("x@evil.org",), allowed_recipients=("@example.org",))


def test_served_services_per_range_and_port_with_the_countries_reaching_them_most():
    from flowlake.reports.trend import served_services

    served = pd.DataFrame([
        (date(2017, 7, 3), "kp", "175.45.176.10", 443, 6, "US", 10, 9000, 3),
        (date(2017, 7, 4), "kp", "175.45.176.10", 443, 6, "DE", 4, 2000, 1),
        (date(2017, 7, 4), "kp", "175.45.176.11", 443, 6, None, 4, 100, 1),
        (date(2017, 7, 4), "kp", "175.45.176.11", 22, 6, "NL", 1, 60, 1)],
        columns=["day", "range_name", "internal_ip", "internal_port", "protocol", "remote_country", "flows", "bytes",
                 "remote_ips"])
    assert served_services(served, countries=2).to_dict("records") == [
        {"range_name": "kp", "internal_port": 443, "protocol": 6, "hosts": 2, "flows": 18, "bytes": 11100,
         "remote_ips": 5, "top_countries": "US, ??"},
        {"range_name": "kp", "internal_port": 22, "protocol": 6, "hosts": 1, "flows": 1, "bytes": 60,
         "remote_ips": 1, "top_countries": "NL"}]
    assert served_services(served.iloc[0:0]).empty


def test_report_csvs_neutralise_cells_a_spreadsheet_would_run_as_formulas():
    table = pd.DataFrame({
        "domain": ["=HYPERLINK(\"http://x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\ry", "ok-1=2", None],
        "bytes": [1, -2, 3, 4, 5, 6, 7, 8],
        "share": [0.5, -0.25, 0.0, 1.0, 0.1, 0.2, 0.3, 0.4]})
    report = Report("trend", "Trend", ReportWindow("trend", date(2017, 7, 1), date(2017, 7, 31)), [],
                    [Section("cells", "Cells", table=table)], {})
    lines = report_files(report)["cells.csv"].decode().split("\n")
    assert lines == ["domain,bytes,share", "\"'=HYPERLINK(\"\"http://x\"\")\",1,0.5", "'+1+cmd|' /C calc'!A0,-2,-0.25",
                     "'-2+3,3,0.0", "'@SUM(A1),4,1.0", "'\tx,5,0.1", "'\ry,6,0.2", "ok-1=2,7,0.3", ",8,0.4", ""]
    # The table the HTML shows is the report's own, untouched.
    assert table["domain"].iloc[0].startswith("=")


def test_the_smtp_password_never_goes_to_another_machine_in_the_clear(monkeypatch):
    monkeypatch.setenv("FLOWLAKE_SMTP_HOST", "mail.example.org")
    monkeypatch.delenv("FLOWLAKE_SMTP_PORT", raising=False)
    monkeypatch.setenv("FLOWLAKE_SMTP_USER", "reports")
    with pytest.raises(DeliveryFailed, match="password to mail.example.org in the clear: set reports.smtp_tls"):
        SmtpServer.from_environment(ReportSettings())
    assert SmtpServer.from_environment(ReportSettings(smtp_tls="tls")).port == 465
    assert SmtpServer.from_environment(ReportSettings(smtp_tls="starttls")).port == 587
    monkeypatch.setenv("FLOWLAKE_SMTP_HOST", "127.0.0.1")
    assert SmtpServer.from_environment(ReportSettings()).port == 25
