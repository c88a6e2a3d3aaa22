"""Deliver a rendered report: its files to reports_uri, an index page, and one email.

- Files go to `<reports_uri>/<report>/<start>_<end>/` (report.html, *.png, *.csv): the same
  period delivered again overwrites the same keys, never adds new ones. `<reports_uri>/index.html`
  lists every report and period there.
- `manifest.json` beside them records what the report read (tables and their Delta versions,
  reference data versions, settings), so `flowlake report --reproduce` can render it again
  (`flowlake.reports.reproduce`) and `flowlake maintain` keeps those versions from VACUUM.
- The email (HTML report as body, CSVs attached) goes through SMTP to the configured recipients,
  retried with a growing pause; success is recorded in `delivery.json` beside the files, and a
  period whose record exists is not mailed again unless `resend` is asked. A send that still
  fails raises `DeliveryFailed` after the files are published, so the report is kept and a
  re-run (or Airflow's retry) sends it. A connection lost after the message went out and before
  the server's final reply (`UnconfirmedMessage`) is retried the same way: a server that never
  replied has not taken the message (RFC 5321 4.1.1.4), but one that took it and then lost the
  connection cannot say so, and its recipients get the message twice (SMTP's own limit).
SMTP host, port, user and password come from the environment variables ReportSettings names;
the Airflow task fills them from its SMTP connection. The password is never logged, and never
sent over plain SMTP to another machine: `reports.smtp_tls` is starttls or tls for that.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import jinja2

from flowlake.config import Config, ReportSettings
from flowlake.errors import PipelineStopped
from flowlake.progress import Progress
from flowlake.periods import ReportWindow
from flowlake.reports.document import Report, report_files
from flowlake.reports.reproduce import MANIFEST, delivery_manifest
from flowlake.storage import list_objects, read_object, write_object

RECORD = "delivery.json"
# A login over plain SMTP is refused unless it stays on this machine.
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")

INDEX = jinja2.Environment(autoescape=True).from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>flowlake reports</title>
<style>body { font-family: system-ui, sans-serif; max-width: 800px; margin: 2em auto; }</style></head>
<body><h1>flowlake reports</h1>
{% for name, periods in reports.items() %}<h2>{{ name }}</h2><ul>
{% for period in periods %}<li><a href="{{ name }}/{{ period }}/report.html">{{ period.replace("_", " to ") }}</a></li>
{% endfor %}</ul>{% endfor %}
</body></html>
""")


class DeliveryFailed(PipelineStopped):
    """The report is published but its email could not be sent; the message says why."""


class UnconfirmedMessage(smtplib.SMTPServerDisconnected):
    """The connection closed during DATA, before the server's final reply to the message."""


class _ConfirmedData:
    """smtplib's client, telling a connection lost during DATA from one lost earlier."""

    def data(self, msg):
        try:
            return super().data(msg)
        except smtplib.SMTPServerDisconnected as err:
            raise UnconfirmedMessage(f"the server closed the connection during DATA, before confirming the "
                                     f"message ({err}): it most likely did not take it, and if it did, a "
                                     f"resend delivers it twice") from err


class _SMTP(_ConfirmedData, smtplib.SMTP):
    pass


class _SMTP_SSL(_ConfirmedData, smtplib.SMTP_SSL):
    pass


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    user: str | None
    password: str | None
    tls: str = "none"  # ReportSettings.smtp_tls
    ca_file: str | None = None

    @classmethod
    def from_environment(cls, settings: ReportSettings) -> "SmtpServer":
        host = os.environ.get(settings.smtp_host_env)
        if not host:
            raise DeliveryFailed(f"no SMTP host: set {settings.smtp_host_env} (and {settings.smtp_port_env})")
        user = os.environ.get(settings.smtp_user_env) or settings.smtp_user or None
        if user and settings.smtp_tls == "none" and host not in LOOPBACK_HOSTS:
            raise DeliveryFailed(f"refusing to send the SMTP password to {host} in the clear: set reports.smtp_tls "
                                 f"to starttls or tls")
        default_port = {"none": 25, "starttls": 587, "tls": 465}[settings.smtp_tls]
        return cls(host, int(os.environ.get(settings.smtp_port_env) or default_port), user,
                   os.environ.get(settings.smtp_password_env) or None, settings.smtp_tls,
                   settings.smtp_ca_file or None)

    def send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.tls == "tls":
            client = _SMTP_SSL(self.host, self.port, timeout=30, context=context)
        else:
            client = _SMTP(self.host, self.port, timeout=30)
        with client:
            if self.tls == "starttls":
                client.starttls(context=context)
            if self.user:
                client.login(self.user, self.password or "")
            client.send_message(message)


def delivery_folder(reports_uri: str, window: ReportWindow) -> str:
    """Where the report of `window` is published: `<reports_uri>/<name>/<period>`."""
    return f"{reports_uri}/{window.name}/{window.label}"


def publish_files(config: Config, report: Report, files: dict[str, bytes]) -> list[str]:
    """Write the report's files and refresh the index; returns the URIs written."""
    prefix = delivery_folder(config.reports_uri, report.window)
    written = []
    for name, data in files.items():
        write_object(f"{prefix}/{name}", data, config.s3)
        written.append(f"{prefix}/{name}")
    write_object(f"{config.reports_uri}/index.html", index_page(config), config.s3)
    return written


def index_page(config: Config) -> bytes:
    reports: dict[str, list[str]] = {}
    for uri in list_objects(config.reports_uri, config.s3):
        parts = uri[len(config.reports_uri) + 1:].split("/")
        if len(parts) == 3 and parts[2] == "report.html":
            reports.setdefault(parts[0], []).append(parts[1])
    ordered = {name: sorted(periods, reverse=True) for name, periods in sorted(reports.items())}
    return INDEX.render(reports=ordered).encode("utf-8")


def compose_message(report: Report, files: dict[str, bytes], sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"flowlake {report.name} report, {report.window.start} to {report.window.end}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Message-ID"] = make_msgid(domain="flowlake")
    message.set_content(f"{report.title}, {report.window.start} to {report.window.end}.\n"
                        + "\n".join(report.headlines) + "\n\nThe report is the HTML part; the numbers are attached.")
    # As bytes (base64 on the wire): the reader gets report.html exactly, line endings included.
    message.add_alternative(files["report.html"], "text", "html", params={"charset": "utf-8"})
    for name, data in files.items():
        if name.endswith(".csv"):
            message.add_attachment(data, maintype="text", subtype="csv", filename=name)
    return message


def send_with_retries(send: Callable[[EmailMessage], None], message: EmailMessage, attempts: int,
                      retry_seconds: float, progress: Progress, sleep: Callable[[float], None] = time.sleep) -> int:
    """Send, retrying with a doubling pause; returns the attempts used, raises DeliveryFailed."""
    for attempt in range(1, attempts + 1):
        try:
            send(message)
            return attempt
        except (OSError, smtplib.SMTPException) as err:
            progress.say(f"email attempt {attempt} of {attempts} failed: {type(err).__name__}: {err}")
            if attempt == attempts:
                raise DeliveryFailed(f"email not sent after {attempts} attempts: {type(err).__name__}: {err}; "
                                     f"the report is published and a re-run sends it") from err
            sleep(retry_seconds * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def deliver(config: Config, report: Report, email: bool, resend: bool, progress: Progress,
            server: SmtpServer | None = None) -> dict:
    """Publish the files, then mail them unless already mailed; returns the delivery record."""
    # Rendered once: the same bytes are published and mailed.
    files = report_files(report)
    written = publish_files(config, report, files)
    # Written with every delivery, mailed or not: a published report is one to defend.
    folder = delivery_folder(config.reports_uri, report.window)
    write_object(f"{folder}/{MANIFEST}", json.dumps(delivery_manifest(config, report), indent=1).encode("utf-8"),
                 config.s3)
    progress.say(f"published {len(written)} files under {folder}/")
    record_uri = f"{folder}/{RECORD}"
    if not email or not config.reports.recipients:
        progress.say("email not asked for" if not email else "email skipped: reports.recipients is empty")
        return {"files": written, "emailed": False}
    previous = read_object(record_uri, config.s3)
    if previous and not resend:
        progress.say(f"already mailed (see {record_uri}); pass --resend to send again")
        return {"files": written, "emailed": False, **json.loads(previous)}
    message = compose_message(report, files, config.reports.sender, config.reports.recipients)
    server = server or SmtpServer.from_environment(config.reports)
    attempts = send_with_retries(server.send, message, config.reports.send_attempts,
                                 config.reports.retry_seconds, progress)
    record = {"message_id": message["Message-ID"], "recipients": list(config.reports.recipients),
              "attempts": attempts, "generated_at": report.provenance.get("generated at")}
    write_object(record_uri, json.dumps(record, indent=1).encode("utf-8"), config.s3)
    progress.say(f"mailed to {len(config.reports.recipients)} recipients in {attempts} attempt(s)")
    return {"files": written, "emailed": True, **record}
