"""infra/docker-compose.yml renders, without a Docker engine, into the stack the README promises.

Debian's docker-compose 1.29 (`make compose-tools` installs it) renders the file with
`docker-compose config`, which needs no engine. The checks: every service of the stack is
there, published ports bind the host's loopback interface only, every image is pinned to a
version, every secret comes from the env file (rendered values are the env file's, and the file
itself holds none), a missing secret stops the render, and the example env file holds
placeholders only.
"""

import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

COMPOSE_FILE = ROOT / "infra" / "docker-compose.yml"
EXAMPLE_ENV = ROOT / "infra" / "compose.env.example"
SERVICES = {"minio", "minio-bucket", "postgres", "hive-metastore", "spark-master", "spark-worker-1",
            "spark-worker-2", "airflow-init", "airflow-api-server", "airflow-scheduler",
            "airflow-dag-processor", "airflow-triggerer"}
SECRET_NAMES = ("POSTGRES_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "AIRFLOW_FERNET_KEY",
                "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY", "SMTP_PASSWORD", "PSEUDONYM_KEY")


def render(env_file) -> subprocess.CompletedProcess:
    docker_compose = shutil.which("docker-compose")
    assert docker_compose, "docker-compose is not installed: run `make compose-tools`"
    return subprocess.run([docker_compose, "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config"],
                          capture_output=True, text=True, timeout=120)


def sentinel_env(tmp_path, leave_out: str = ""):
    """An env file with a recognisable value for every secret: `sentinel-<name>`."""
    values = {name: f"sentinel-{name.lower().replace('_', '-')}" for name in SECRET_NAMES if name != leave_out}
    values.update(POSTGRES_USER="airflow", SMTP_HOST="mail.example.org", SMTP_PORT="587", SMTP_USER="flowlake")
    path = tmp_path / "compose.env"
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    return path, values


def test_compose_file_renders_the_whole_stack_on_loopback_with_secrets_from_env(tmp_path):
    env_file, secrets = sentinel_env(tmp_path)
    done = render(env_file)
    assert done.returncode == 0, done.stderr
    rendered = yaml.safe_load(done.stdout)
    services = rendered["services"]
    assert set(services) == SERVICES

    for name, service in services.items():
        assert re.fullmatch(r"[\w./-]+:[\w.-]*\d[\w.-]*", service["image"]), f"{name}: image {service['image']} not pinned"
        for port in service.get("ports", ()):
            published = port if isinstance(port, str) else f"{port.get('host_ip')}:{port['published']}"
            assert published.startswith("127.0.0.1:"), f"{name} publishes {port} beyond the loopback interface"
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"minio", "spark-master", "airflow-api-server"}

    # Each secret reaches the services from the env file, and none is written in the compose file.
    text = done.stdout
    for name, value in secrets.items():
        if name in SECRET_NAMES:
            assert value in text, f"{name} from the env file is used nowhere"
    source = COMPOSE_FILE.read_text()
    # A key naming a secret (a YAML key, a JSON key inside a connection, a -D option) is followed
    # by a ${...} reference, never by a value.
    inline = re.search(r"(?<![\w{])[\w.]*(password|secret|secret_key|fernet_key|root_user)\"?\s*[:=]\s*(?!\"?\$\{)\S",
                       source, re.IGNORECASE)
    assert not inline, f"a secret is written in the compose file: {inline.group(0)!r}"
    for service in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        env = services[service]["environment"]
        assert secrets["POSTGRES_PASSWORD"] in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert secrets["MINIO_ROOT_PASSWORD"] in env["AIRFLOW_CONN_FLOWLAKE_S3"]
    assert '"spark://spark-master"' in services["airflow-scheduler"]["environment"]["AIRFLOW_CONN_SPARK_DEFAULT"]


def test_compose_file_refuses_to_render_without_a_secret(tmp_path):
    env_file, _ = sentinel_env(tmp_path, leave_out="POSTGRES_PASSWORD")
    done = render(env_file)
    assert done.returncode != 0
    assert "POSTGRES_PASSWORD" in done.stderr


def test_example_env_file_holds_placeholders_only():
    entries = dict(line.split("=", 1) for line in EXAMPLE_ENV.read_text().splitlines()
                   if line and not line.startswith("#"))
    for name in SECRET_NAMES:
        assert re.fullmatch(r"<[^>]+>", entries[name]), f"{name} in {EXAMPLE_ENV.name} is not a <placeholder>"
