"""A local SMTP server that speaks TLS and asks for a login, for the tests of TLS delivery.

  FLOWLAKE_SMTP_TLS=starttls|tls FLOWLAKE_SMTP_CERT=cert.pem FLOWLAKE_SMTP_KEY=key.pem \
  FLOWLAKE_SMTP_USER=u FLOWLAKE_SMTP_PASSWORD=p python infra/smtp_tls_server.py PORT MAILDIR

`infra/smtp-server.sh start` runs it when FLOWLAKE_SMTP_TLS is set. `starttls`: plain
SMTP that refuses every command but EHLO, STARTTLS and QUIT until STARTTLS; `tls`: TLS from
the first byte (SMTPS, port 465's protocol). Either way a message is accepted only after AUTH
with that user and password (compared in constant time), and stored in MAILDIR like the plain
server does. The password is read from the environment, never from an argument.
"""

from __future__ import annotations

import hmac
import os
import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword


def authenticator(user: bytes, password: bytes):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and hmac.compare_digest(auth_data.login, user) \
            and hmac.compare_digest(auth_data.password, password)
        return AuthResult(success=ok, handled=False)
    return check


def main(port: int, maildir: str) -> None:
    mode = os.environ["FLOWLAKE_SMTP_TLS"]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(os.environ["FLOWLAKE_SMTP_CERT"], os.environ["FLOWLAKE_SMTP_KEY"])
    tls = {"starttls": {"tls_context": context, "require_starttls": True},
           # aiosmtpd counts only STARTTLS as encryption for AUTH; here the whole connection is TLS.
           "tls": {"ssl_context": context, "auth_require_tls": False}}[mode]
    controller = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port, auth_required=True,
                            authenticator=authenticator(os.environ["FLOWLAKE_SMTP_USER"].encode(),
                                                        os.environ["FLOWLAKE_SMTP_PASSWORD"].encode()), **tls)
    # Blocked before the server's thread starts, which inherits the mask: the signals wait here
    # for sigwait, and the server stops cleanly.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    controller.start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
