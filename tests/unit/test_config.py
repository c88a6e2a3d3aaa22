"""The YAML config: defaults, the default ranges, errors that name the file, the key and what was expected
(before any Spark session), the YAML traps a loose schema falls into, and docs/config.md kept in step."""

import re
from pathlib import Path

import pytest
import yaml

from flowlake.cli import main as cli_main
from flowlake.config import ConfigError, GoldSettings, ReportSettings, Source, load_config, resolve_uri, source_for
from flowlake.config_reference import render

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_default_config_holds_the_three_published_ranges():
    config = load_config(ROOT / "config" / "flowlake.yaml")
    assert [(r.name, r.cidrs) for r in config.monitored_ranges] == [
        ("kp", ("175.45.176.0/22",)), ("china_netcom", ("210.52.109.0/24",)), ("satgate", ("77.94.35.0/24",))]
    assert config.raw_uri == f"file://{Path.cwd() / 'data' / 'raw'}"
    assert config.table_uri("bronze", "flows") == f"file://{Path.cwd() / 'data' / 'warehouse'}/bronze/flows"


def test_only_monitored_ranges_is_required(tmp_path):
    config = load_config(write(tmp_path, "monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\n"))
    assert (config.spark.master, config.spark.shuffle_partitions, config.bronze.max_quarantine_rate) == ("local[2]", 4, 0.05)
    assert config.sources == ()
    assert config.maintenance.reproducible_days == 400


RANGES = "monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\n"


@pytest.mark.parametrize("text, line", [
    ("raw_uri: x\n", "monitored_ranges: required key missing"),
    ("monitored_ranges: []\n", "monitored_ranges: expected at least one, got []"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.1/8']}]\n", "monitored_ranges[0].cidrs[0]: expected a network "
     "address such as 175.45.176.0/22 (10.0.0.1/8 has host bits set), got '10.0.0.1/8'"),
    (RANGES + "sources: [{prefix: x/, timezone: Mars/Base}]\n",
     "sources[0].timezone: expected an IANA time zone name such as Asia/Pyongyang or UTC, got 'Mars/Base'"),
    (RANGES + "sources: [{prefix: x/, format: pcap}]\n", "sources[0].format: expected 'auto', 'nfcapd', "
     "'nfdump_csv', 'goflow2_json', 'vpc_flow_log', 'argus' or 'pdns_cof', got 'pcap'"),
    (RANGES + "warehouse: x\n", "warehouse: unknown key (did you mean warehouse_uri?); known keys: raw_uri, "
     "warehouse_uri, reports_uri, scratch_uri, monitored_ranges, sources, s3, spark, bronze, silver, gold, reports, "
     "maintenance, catalog, quality"),
    # The file's own name is not a key of it.
    (RANGES + "path: x.yaml\n", "path: unknown key; known keys: raw_uri, warehouse_uri, reports_uri, scratch_uri, "
     "monitored_ranges, sources, s3, spark, bronze, silver, gold, reports, maintenance, catalog, quality"),
    (RANGES + "bronze: {batch_mib: 0}\n", "bronze.batch_mib: expected more than 0, got 0"),
    (RANGES + "gold: {mining_min_pool_hours: 25}\n", "gold.mining_min_pool_hours: expected at most 24, got 25"),
    (RANGES + "gold: {mining_min_p2p_peers: 1}\n", "gold.mining_min_p2p_peers: expected at least 2, got 1"),
    (RANGES + "gold: {presence_min_days: 0}\n", "gold.presence_min_days: expected at least 1, got 0"),
    (RANGES + "gold: {presence_min_hosts: 1.5}\n", "gold.presence_min_hosts: expected an integer, got 1.5"),
    (RANGES + "quality: {driver_max_rows: -1}\n", "quality.driver_max_rows: expected at least 0, got -1"),
    (RANGES + "maintenance: {reproducible_days: -1}\n", "maintenance.reproducible_days: expected at least 0, got -1"),
    (RANGES + "maintenance: {reproducible_days: 1 year}\n",
     "maintenance.reproducible_days: expected an integer, got '1 year'"),
    (RANGES + "catalog: {authentication: kerberos}\n", "catalog.authentication: expected 'ldap' or 'none', got "
     "'kerberos'"),
    (RANGES + "catalog: {ldap_url: 'http://127.0.0.1:3890'}\n", "catalog.ldap_url: expected an ldap:// or ldaps:// "
     "URL (authentication is ldap), got 'http://127.0.0.1:3890'"),
    (RANGES + "reports: {smtp_tls: ssl}\n", "reports.smtp_tls: expected 'none', 'starttls' or 'tls', got 'ssl'"),
    (RANGES + "reports: {pseudonymise: 'no'}\n", "reports.pseudonymise: expected true or false, got 'no'"),
    (RANGES + "reports: {recipeints: [a@x.org]}\n", "reports.recipeints: unknown key (did you mean recipients?); "
     "known keys: local_timezone, trend_months, top_services, shift_from, shift_to, bootstrap_replicates, "
     "bootstrap_seed, crypto_compare_months_back, sender, allowed_recipients, recipients, smtp_host_env, "
     "smtp_port_env, smtp_user, smtp_user_env, smtp_password_env, smtp_tls, smtp_ca_file, send_attempts, "
     "retry_seconds, pseudonymise, pseudonym_key_env"),
    (RANGES + "reports: {recipients: ['eve@evil.org, a@x.org'], allowed_recipients: ['@x.org']}\n",
     "reports.recipients: expected addresses that allowed_recipients ['@x.org'] admits; ['eve@evil.org, a@x.org'] "
     "are not in allowed_recipients, got ['eve@evil.org, a@x.org']"),
    (RANGES + "s3: s3a://bucket\n", "s3: expected a mapping of keys to values, got 's3a://bucket'"),
    (RANGES + "gold: {2: 3}\n", "gold: key 2: expected a key name (a string)"),
    ("- monitored_ranges\n", "the file: expected a mapping of keys to values, got ['monitored_ranges']"),
    # A range name becomes report file names and object keys: no path, no SQL, no spaces.
    ("monitored_ranges: [{name: ../../etc/x, cidrs: ['10.0.0.0/8']}]\n", "monitored_ranges[0].name: expected a plain "
     "identifier (a letter or _, then letters, digits or _): it names report files and object keys, got '../../etc/x'"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}, {name: 'kp west', cidrs: ['11.0.0.0/8']}]\n",
     "monitored_ranges[1].name: expected a plain identifier (a letter or _, then letters, digits or _): it names "
     "report files and object keys, got 'kp west'"),
])
def test_bad_config_names_the_file_the_key_and_what_was_expected(tmp_path, text, line):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: {line}"


def test_a_section_with_every_key_commented_out_takes_its_defaults(tmp_path):
    config = load_config(write(tmp_path, RANGES + "sources:\ngold:\nreports:\n  # recipients: [a@x.org]\n"))
    assert (config.sources, config.gold, config.reports) == ((), GoldSettings(), ReportSettings())


def test_bad_yaml_names_the_file_and_the_line(tmp_path):
    path = write(tmp_path, "monitored_ranges: [\n")
    with pytest.raises(ConfigError, match=rf"(?s)^{path}: not valid YAML .*line 2"):
        load_config(path)


# YAML 1.1 turns these into something nobody wrote: the Norway problem (the country code NO is
# false), base 60 (1:10 is 70), octal (025 is 21). Each is refused naming its key.
@pytest.mark.parametrize("text, loose, line", [
    ("monitored_ranges: [{name: NO, cidrs: ['10.0.0.0/8']}]\n", False, "monitored_ranges[0].name: expected a string "
     "(quote it: unquoted, YAML reads it as a boolean or a number), got False"),
    (RANGES + "sources: [{prefix: x/, sampling_rate: 1:10}]\n", 70,
     "sources[0].sampling_rate: expected an integer, got '1:10'"),
    (RANGES + "sources: [{prefix: x/, sampling_rate: '1:100'}]\n", "1:100",
     "sources[0].sampling_rate: expected an integer, got '1:100'"),
    (RANGES + "catalog: {thrift_port: 025}\n", 21, "catalog.thrift_port: expected an integer, got '025'"),
    (RANGES + "spark: {driver_memory: 1024}\n", 1024, "spark.driver_memory: expected a string (quote it: unquoted, "
     "YAML reads it as a boolean or a number), got 1024"),
    (RANGES + "spark: {jars_on_nodes: 'yes'}\n", "yes", "spark.jars_on_nodes: expected true or false, got 'yes'"),
    (RANGES + "bronze: {max_quarantine_rate: '0.05'}\n", "0.05",
     "bronze.max_quarantine_rate: expected a number, got '0.05'"),
    (RANGES + "gold: {presence_min_days: '6'}\n", "6", "gold.presence_min_days: expected an integer, got '6'"),
])
def test_a_value_a_loose_schema_would_take_is_refused_naming_its_key(tmp_path, text, loose, line):
    # The trap is real: what a plain YAML load gives, which a coercing schema would accept.
    assert loose in str(yaml.safe_load(text)) if isinstance(loose, str) else loose in _leaves(yaml.safe_load(text))
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: {line}"


def _leaves(value) -> list:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def test_every_problem_is_reported_at_once_one_line_each(tmp_path):
    path = write(tmp_path, RANGES + "gold: {presence_min_days: six, presence_min_hosts: 0}\nspark: {mastr: local}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).splitlines() == [
        f"{path}: spark.mastr: unknown key (did you mean master?); known keys: master, driver_memory, "
        "shuffle_partitions, py_files, executor_python, driver_host, jars_on_nodes",
        f"{path}: gold.presence_min_days: expected an integer, got 'six'",
        f"{path}: gold.presence_min_hosts: expected at least 1, got 0"]


def test_settings_built_in_code_are_checked_like_the_file():
    with pytest.raises(ValueError, match="mining_min_pool_hours"):
        GoldSettings(mining_min_pool_hours=0)
    with pytest.raises(ValueError, match="Unexpected keyword argument"):
        GoldSettings(min_months=6)


@pytest.mark.parametrize("document, block", [
    (document, block) for document in ("README.md", "docs/DEPLOY.md")
    for block in re.findall(r"```yaml\n(.*?)```", (ROOT / document).read_text(), re.S)])
def test_every_config_the_docs_show_loads(tmp_path, document, block):
    raw = yaml.safe_load(block)
    raw.setdefault("monitored_ranges", [{"name": "a", "cidrs": ["10.0.0.0/8"]}])
    assert load_config(write(tmp_path, yaml.safe_dump(raw))).monitored_ranges


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in (
    *(ROOT / "config").glob("*.yaml"), ROOT / "infra" / "compose" / "flowlake.yaml")))
def test_every_config_in_the_repository_loads(path):
    assert load_config(ROOT / path).monitored_ranges


def test_docs_config_md_is_what_the_schema_renders():
    assert (ROOT / "docs" / "config.md").read_text() == render(), \
        "docs/config.md is out of date: make config-docs (python -m flowlake.config_reference > docs/config.md)"


def test_flowlake_run_with_a_bad_config_exits_before_any_spark_session(tmp_path, capsys, monkeypatch):
    from pyspark.sql import SparkSession

    monkeypatch.setattr(SparkSession.Builder, "getOrCreate", lambda self: pytest.fail("a Spark session was built"))
    path = write(tmp_path, RANGES + "gold: {min_months: six}\n")
    assert cli_main(["run", "--config", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"flowlake: config error: {path}: gold.min_months: unknown key; known keys: presence_min_activity_ratio, "
        "presence_min_local_domains, presence_min_days, presence_min_hosts, crypto_same_tolerance, "
        "mining_min_pool_hours, mining_min_p2p_peers\n")


def test_longest_source_prefix_wins():
    sources = (Source(prefix="flows/", timezone="UTC"), Source(prefix="flows/pyongyang/", timezone="Asia/Pyongyang"))
    assert source_for(sources, "flows/pyongyang/a.csv").timezone == "Asia/Pyongyang"
    assert source_for(sources, "flows/other/a.csv").timezone == "UTC"
    assert source_for(sources, "dns/a.json") == Source(prefix="")


def test_uris_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_uri("file://./data/raw/") == f"file://{tmp_path}/data/raw"
    assert resolve_uri("s3://bucket/raw") == "s3a://bucket/raw"
    assert resolve_uri("/abs/path") == "file:///abs/path"
