"""Report mail over TLS with a login: STARTTLS (port 587's protocol) and implicit TLS (SMTPS),
each against the local SMTP server in that mode (infra/smtp-server.sh with FLOWLAKE_SMTP_TLS),
which accepts mail only after AUTH, with a certificate made here for 127.0.0.1.

One small message per mode; the same server also shows a wrong password refused, a certificate
nobody vouched for refused, and (STARTTLS) a client that skips the upgrade refused.
"""

from __future__ import annotations

import ipaddress
import mailbox
import os
import smtplib
import ssl
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from flowlake.config import ReportSettings
from flowlake.reports.deliver import SmtpServer
from tests.conftest import ROOT, local_server

pytestmark = pytest.mark.integration
PORTS = {"starttls": os.environ.get("FLOWLAKE_SMTP_STARTTLS_PORT", "8587"),
         "tls": os.environ.get("FLOWLAKE_SMTPS_PORT", "8465")}
USER = "flowlake-reports"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (its IP address in subjectAltName, which is what
    a client checks), as PEM files: (certificate, key)."""
    folder = tmp_path_factory.mktemp("smtp_tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return str(folder / "cert.pem"), str(folder / "key.pem")


def small_message() -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"flowlake TLS test {uuid.uuid4()}"
    message["From"], message["To"] = "flowlake@flowlake.test", "analyst@flowlake.test"
    message.set_content("one small message")
    return message


def received(port: str, subject: str) -> int:
    return sum(m["Subject"] == subject for m in mailbox.Maildir(ROOT / ".run" / f"smtp-{port}"))


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_mail_goes_over_tls_after_a_login_and_nothing_weaker_is_accepted(mode, certificate, monkeypatch):
    cert, key = certificate
    port = PORTS[mode]
    monkeypatch.setenv("FLOWLAKE_SMTP_PORT", port)
    monkeypatch.delenv("FLOWLAKE_SMTP_USER", raising=False)
    server_env = {"FLOWLAKE_SMTP_TLS": mode, "FLOWLAKE_SMTP_PORT": port, "FLOWLAKE_SMTP_CERT": cert,
                  "FLOWLAKE_SMTP_KEY": key, "FLOWLAKE_SMTP_USER": USER}
    with local_server("smtp-server.sh", server_env):
        server = SmtpServer.from_environment(ReportSettings(smtp_tls=mode, smtp_user=USER, smtp_ca_file=cert))
        assert (server.tls, server.user, server.password) == (mode, USER, os.environ["FLOWLAKE_SMTP_PASSWORD"])
        message = small_message()
        server.send(message)
        assert received(port, message["Subject"]) == 1

        refused = small_message()
        with pytest.raises(smtplib.SMTPAuthenticationError):
            replace(server, password="not-" + server.password).send(refused)
        # The system's CAs do not vouch for this certificate.
        with pytest.raises(ssl.SSLCertVerificationError):
            replace(server, ca_file=None).send(refused)
        if mode == "starttls":
            # Without the upgrade the server offers no AUTH and takes no mail.
            with pytest.raises(smtplib.SMTPNotSupportedError):
                replace(server, tls="none").send(refused)
        assert received(port, refused["Subject"]) == 0
