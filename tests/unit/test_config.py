"""The YAML config: defaults, the default ranges, and errors that name the file and key."""

from pathlib import Path

import pytest

from flowlake.config import ConfigError, Source, load_config, resolve_uri, source_for

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


@pytest.mark.parametrize("text, message", [
    ("raw_uri: x\n", "monitored_ranges is required"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.1/8']}]\n", "monitored_ranges[0]: '10.0.0.1/8' is not a network"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\nsources: [{prefix: x/, timezone: Mars/Base}]\n",
     "sources[0]: unknown timezone 'Mars/Base'"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\nsources: [{prefix: x/, format: pcap}]\n",
     "sources[0]: format 'pcap' is not one of"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\nwarehouse: x\n", "unknown keys ['warehouse']"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\nbronze: {batch_mib: 0}\n",
     "bronze: batch_mib 0 is not a positive number of MiB"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\ngold: {mining_min_pool_hours: 25}\n",
     "gold: mining_min_pool_hours 25 is not a whole number of hours from 1 to 24"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\ngold: {mining_min_p2p_peers: 1}\n",
     "gold: mining_min_p2p_peers 1 is not a whole number of at least 2"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\ngold: {presence_min_days: 0}\n",
     "gold: presence_min_days 0 is not a whole number of at least 1"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\ngold: {presence_min_hosts: 1.5}\n",
     "gold: presence_min_hosts 1.5 is not a whole number of at least 1"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\nquality: {driver_max_rows: -1}\n",
     "quality: driver_max_rows -1 is not a whole number of rows, 0 or more"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\nmaintenance: {reproducible_days: -1}\n",
     "maintenance: reproducible_days -1 is not a whole number of days (0 or more)"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\nmaintenance: {reproducible_days: 1 year}\n",
     "maintenance: reproducible_days '1 year' is not a whole number of days"),
    ("monitored_ranges: [\n", "not valid YAML"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\ncatalog: {authentication: kerberos}\n",
     "catalog: authentication 'kerberos' is not one of ldap, none"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\nreports: {smtp_tls: ssl}\n",
     "reports: smtp_tls 'ssl' is not one of none, starttls, tls"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}]\nreports: {pseudonymise: 'no'}\n",
     "reports: pseudonymise 'no' is not true or false"),
    # A range name becomes report file names and object keys: no path, no SQL, no spaces.
    ("monitored_ranges: [{name: ../../etc/x, cidrs: ['10.0.0.0/8']}]\n",
     "monitored_ranges[0].name '../../etc/x' is not a plain identifier"),
    ("monitored_ranges: [{name: a, cidrs: ['10.0.0.0/8']}, {name: 'kp west', cidrs: ['11.0.0.0/8']}]\n",
     "monitored_ranges[1].name 'kp west' is not a plain identifier"),
])
def test_bad_config_names_the_file_and_the_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)


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
