"""Shared fixtures: one Spark session for the whole run, configs on tmp_path, the local servers.

The S3 settings are test values set before Spark starts, so the session's S3A connector
reads them; the local S3, SMTP and LDAP servers are started from infra/ and stopped by their PIDs.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
S3_PORT = os.environ.setdefault("FLOWLAKE_S3_PORT", "5055")
os.environ.setdefault("FLOWLAKE_S3_ENDPOINT", f"http://127.0.0.1:{S3_PORT}")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "flowlake-test-key")
# Secrets unique to this run, so the secret-leak test (tests/dags/test_dags_e2e.py) finds them
# wherever they leaked and nowhere else.
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", f"flowlake-test-secret-{secrets.token_hex(8)}")
os.environ.setdefault("FLOWLAKE_SMTP_PASSWORD", f"flowlake-test-smtp-password-{secrets.token_hex(8)}")
os.environ.setdefault("FLOWLAKE_PSEUDONYM_KEY", f"flowlake-test-pseudonym-key-{secrets.token_hex(8)}")
os.environ.setdefault("FLOWLAKE_SQL_PASSWORD", f"flowlake-test-sql-password-{secrets.token_hex(8)}")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
SMTP_PORT = os.environ.setdefault("FLOWLAKE_SMTP_PORT", "8025")
os.environ.setdefault("FLOWLAKE_SMTP_HOST", "127.0.0.1")
os.environ.setdefault("FLOWLAKE_LDAP_PORT", "3890")


def write_config(folder: Path, raw_uri: str | None = None, **extra) -> Path:
    """A whole config for one test: raw and warehouse under `folder`, the default ranges."""
    import yaml

    config = yaml.safe_load((ROOT / "config" / "flowlake.yaml").read_text())
    config.update(raw_uri=raw_uri or f"file://{folder}/raw", warehouse_uri=f"file://{folder}/warehouse",
                  reports_uri=f"file://{folder}/reports", spark={"driver_memory": "2g"})
    config.update(extra)
    path = folder / "flowlake.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_bound(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def spark():
    from flowlake.config import load_config
    from flowlake.session import build_session

    session = build_session(load_config(ROOT / "config" / "flowlake.yaml"), "flowlake-tests")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    yield session
    session.stop()


@contextmanager
def local_server(script_name: str, env: dict[str, str] | None = None):
    """Start one of infra/'s local servers, with `env` added to its environment; stop it by its
    recorded PID on the way out."""
    script = ROOT / "infra" / script_name
    env = {**os.environ, **(env or {})}
    address = subprocess.run([str(script), "start"], check=True, capture_output=True, text=True, env=env).stdout.strip()
    try:
        yield address
    finally:
        subprocess.run([str(script), "stop"], check=True, env=env)


@pytest.fixture(scope="session")
def s3_endpoint():
    with local_server("s3-server.sh") as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def smtp_maildir():
    """The local SMTP server's maildir: every message it received, one file each under new/."""
    import mailbox

    with local_server("smtp-server.sh"):
        yield mailbox.Maildir(ROOT / ".run" / f"smtp-{SMTP_PORT}")


@pytest.fixture(scope="session")
def ldap_url():
    """The local LDAP server (slapd): uid=analyst, password $FLOWLAKE_SQL_PASSWORD."""
    with local_server("ldap.sh") as url:
        yield url
