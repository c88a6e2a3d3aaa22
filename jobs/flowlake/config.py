"""The flowlake YAML config: one file, every key but `monitored_ranges` defaulted.

`load_config(path)` reads the file, checks it against the typed schema below and returns a
`Config`, before any Spark work starts. Every problem in the file is reported at once, one line
each: `<file>: <dotted.key>: expected <what>, got <value>`; an unknown key is refused with the
known ones (and the closest of them). docs/config.md is rendered from this schema
(`python -m flowlake.config_reference`).

The schema is pydantic dataclasses, not models: callers copy settings with
`dataclasses.replace` and record them with `dataclasses.asdict`. Numbers, booleans and strings
are strict, so a quoted "6" never becomes a number and an unquoted `no` never becomes a name.
Relative `file://` URIs (`file://./data/raw`) are resolved against the working directory.
Secrets never appear here: the settings name the environment variables that hold them.
"""

import dataclasses
import difflib
import ipaddress
import os
import re
import typing
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (AfterValidator, BeforeValidator, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr,
                      TypeAdapter, ValidationError, ValidationInfo, field_validator, model_validator)
from pydantic.dataclasses import dataclass

from flowlake.errors import InputRefused

# What a catalog name or a monitored range's name may be: it becomes a SQL identifier, a file
# name and part of an object key, where a quote, a dot, a slash or a space would mean something.
PLAIN_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Format = Literal["auto", "nfcapd", "nfdump_csv", "goflow2_json", "vpc_flow_log", "argus", "pdns_cof"]
FORMATS = typing.get_args(Format)
SmtpTls = Literal["none", "starttls", "tls"]
SMTP_TLS_MODES = typing.get_args(SmtpTls)

# Unknown keys are refused (a misspelt key would otherwise leave its default in force unseen);
# settings are frozen, a run reads the one config it started with.
# Defaults are validated too: a default URI or path is resolved like a given one.
SCHEMA = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class ConfigError(InputRefused):
    """A config file that cannot be used; the message names the file and the key."""

    label = "config error"


def _plain_identifier(name: str) -> str:
    if not PLAIN_IDENTIFIER.fullmatch(name):
        raise ValueError("expected a plain identifier (a letter or _, then letters, digits or _): "
                         "it names report files and object keys")
    return name


def _network(cidr: str) -> str:
    try:
        ipaddress.ip_network(cidr, strict=True)
    except ValueError as err:
        raise ValueError(f"expected a network address such as 175.45.176.0/22 ({err})") from None
    return cidr


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone name such as Asia/Pyongyang or UTC") from None
    return name


def _not_empty(items: tuple) -> tuple:
    # An after-validator, not min_length: it runs only when every item is valid, so a list whose
    # one item is wrong is reported for that item alone.
    if not items:
        raise ValueError("expected at least one")
    return items


def _resolved_path(path: str) -> str:
    # Resolved once, like the URIs: the Thrift server and spark-sql must find the same path.
    return str(Path(path).resolve())


def resolve_uri(uri: str) -> str:
    """Absolute form of a storage URI; `file://./x` and bare paths become `file:///abs/x`."""
    uri = str(uri).rstrip("/")
    if uri.startswith("s3a://") or uri.startswith("s3://"):
        return "s3a://" + uri.split("://", 1)[1]
    path = uri[len("file://"):] if uri.startswith("file://") else uri
    return "file://" + str(Path(path).resolve())


Uri = Annotated[StrictStr, AfterValidator(resolve_uri)]
TimeZone = Annotated[StrictStr, AfterValidator(_time_zone)]


@dataclass(config=SCHEMA)
class MonitoredRange:
    """A monitored range: the internal side of every flow it takes part in."""

    name: Annotated[StrictStr, AfterValidator(_plain_identifier), Field(
        description="The range's name, a plain identifier (a letter or _, then letters, digits or _): it becomes "
                    "report file names, object keys and a SQL value, where `../x` or `kp west` would mean "
                    "something else.")]
    cidrs: Annotated[tuple[Annotated[StrictStr, AfterValidator(_network)], ...], AfterValidator(_not_empty), Field(
        description="Its networks, host bits zero (`175.45.176.0/22`); an address in several ranges belongs to "
                    "the longest prefix.")]


@dataclass(config=SCHEMA)
class Source:
    """Settings for every raw object whose key, relative to raw_uri, starts with `prefix`."""

    prefix: Annotated[StrictStr, Field(
        description="The objects these settings apply to: keys below raw_uri starting with it (`flows/pyongyang/`); "
                    "the longest matching prefix wins.")]
    format: Annotated[Format, Field(
        description="The dump format; `auto` recognises it from the object's first lines.")] = "auto"
    timezone: Annotated[TimeZone, Field(
        description="The exporter's clock, for formats that write local time (nfdump's CSV): its records are "
                    "converted to UTC with it.")] = "UTC"
    sampling_rate: Annotated[StrictInt | None, Field(
        ge=0,
        description="One packet in this many was sampled, for records that do not say (GoFlow2 writes 0 for "
                    "unknown); null, 0 or 1 mean unsampled.")] = None


@dataclass(config=SCHEMA)
class S3Settings:
    """Names of the environment variables holding the S3 endpoint and credentials, never the values; the
    writer lease on an s3a:// warehouse (README, "Many writers on an S3 warehouse")."""

    endpoint_env: Annotated[StrictStr, Field(
        description="The variable holding the S3 endpoint URL; unset or empty: AWS's own.")] = "FLOWLAKE_S3_ENDPOINT"
    access_key_env: Annotated[StrictStr, Field(
        description="The variable holding the access key id.")] = "AWS_ACCESS_KEY_ID"
    secret_key_env: Annotated[StrictStr, Field(
        description="The variable holding the secret access key.")] = "AWS_SECRET_ACCESS_KEY"
    region: Annotated[StrictStr, Field(description="The S3 region.")] = "us-east-1"
    lease_seconds: Annotated[StrictInt, Field(
        ge=1,
        description="A lease holder that stops renewing it (killed) loses the writer lease after this many "
                    "seconds.")] = 300
    lease_wait_seconds: Annotated[StrictInt, Field(
        ge=0, description="A run waits at most this many seconds for the writer lease.")] = 3600

    def endpoint(self) -> str | None:
        return os.environ.get(self.endpoint_env) or None


@dataclass(config=SCHEMA)
class SparkSettings:
    """The Spark application's settings; on a cluster also docs/DEPLOY.md's."""

    master: Annotated[StrictStr, Field(
        description="The Spark master: `local[N]`, `spark://host:7077`, `k8s://...`.")] = "local[2]"
    driver_memory: Annotated[StrictStr, Field(
        description="The driver's memory, with its unit (`4g`); sized, like the defaults here, for a 2-core, "
                    "24 GiB machine.")] = "4g"
    shuffle_partitions: Annotated[StrictInt, Field(
        ge=1,
        description="spark.sql.shuffle.partitions: 2x the cores keeps tasks busy without hundreds of tiny "
                    "ones.")] = 4
    py_files: Annotated[StrictStr, Field(
        description="The package as a zip or wheel the executors import flowlake from (spark.submit.pyFiles), "
                    "when their Python does not have it installed.")] = ""
    executor_python: Annotated[StrictStr, Field(
        description="The interpreter executors run on their machines; empty: the one running flowlake.")] = ""
    driver_host: Annotated[StrictStr, Field(
        description="The address the driver listens on and executors reach it at: loopback unless a cluster on "
                    "other machines must connect back (client mode).")] = "127.0.0.1"
    jars_on_nodes: Annotated[StrictBool, Field(
        description="True when every cluster node has Spark's extra jars at the paths `make setup` gives them "
                    "here (one image for every node): they are then named as local: URIs, and no application "
                    "copies the 628 MB to its executors.")] = False


@dataclass(config=SCHEMA)
class BronzeSettings:
    """Ingesting raw objects into bronze."""

    max_quarantine_rate: Annotated[StrictFloat, Field(
        ge=0, le=1,
        description="A run fails when more than this share of a batch's lines goes to quarantine (a daily run is "
                    "one batch), publishing nothing of that batch.")] = 0.05
    parse_batch_objects: Annotated[StrictInt, Field(
        ge=1,
        description="Objects a Python worker holds at once while parsing (one Arrow batch of raw bytes): bounds "
                    "its memory. The objects of a run are parsed in as many Spark tasks as the session has "
                    "cores, each taking its objects a batch at a time.")] = 8
    batch_mib: Annotated[StrictFloat, Field(
        gt=0,
        description="Raw (compressed) MiB ingested per batch, each parsed, gated and committed on its own: bounds "
                    "the parsed rows the driver caches (about 2.6 times the raw bytes) on a long "
                    "backlog.")] = 256
    max_days_from_dump: Annotated[StrictInt, Field(
        ge=0,
        description="A flow record further than this many days from its dump's median day has a broken clock and "
                    "is quarantined.")] = 2
    nfdump: Annotated[StrictStr, Field(
        description="The nfdump binary that converts nfcapd files, on every Spark node: a name on PATH or a "
                    "path.")] = "nfdump"
    max_decompressed_mib: Annotated[StrictFloat, Field(
        gt=0,
        description="An object larger than this once decompressed (a gzip bomb, or a dump too large for one "
                    "worker) is quarantined whole; reading stops at the bound, about what one Python worker "
                    "holds of it.")] = 2048


@dataclass(config=SCHEMA)
class SilverSettings:
    """Enriching and classifying flows into silver."""

    geo_source: Annotated[Literal["iptocc", "geoip2fast"], Field(
        description="The offline geolocation package: iptocc (RIR delegations) or geoip2fast "
                    "(GeoLite2-derived).")] = "iptocc"
    catalog: Annotated[StrictStr, Field(
        description="A service catalog file in place of the bundled jobs/flowlake/reference/catalog.yaml, its "
                    "address lists beside it; `flowlake whatif --catalog` sets it for its scratch "
                    "rebuild.")] = ""
    batch_rows: Annotated[StrictInt, Field(
        ge=1,
        description="Bronze flows rebuilt per batch: the changed days go through transform, validate and load in "
                    "consecutive batches of at most this many rows (a day is never split), each one commit, so the "
                    "driver's heap holds one batch however long the backlog (20 million flows at once ran out of "
                    "the default 4 GB).")] = 4_000_000


@dataclass(config=SCHEMA)
class GoldSettings:
    """The thresholds of gold's findings (README, "Overseas presence" and "Mining rule")."""

    presence_min_activity_ratio: Annotated[StrictFloat, Field(
        ge=0,
        description="Overseas presence: a country is flagged when its activity is at least this many times the "
                    "mean over countries, and the three thresholds below hold.")] = 1.0
    presence_min_local_domains: Annotated[StrictInt, Field(
        ge=1,
        description="... and its local news, government, education and military domains used number at least "
                    "this many.")] = 3
    presence_min_days: Annotated[StrictInt, Field(
        ge=1,
        description="... and those local resources were used on at least this many distinct days (a single visit "
                    "is no presence).")] = 3
    presence_min_hosts: Annotated[StrictInt, Field(
        ge=1,
        description="... by at least this many distinct internal hosts (a single host is no presence).")] = 2
    crypto_same_tolerance: Annotated[StrictFloat, Field(
        ge=0,
        description="Crypto period comparison: a host's daily volume or peer rate counts as the same as in the "
                    "previous period when within this fraction of it.")] = 0.25
    mining_min_pool_hours: Annotated[StrictInt, Field(
        ge=1, le=24,
        description="Mining, per day and coin: stratum sessions to a pool open in at least this many distinct "
                    "hours of the UTC day; 18 of 24 is more than any working day and evening, and any 18 hours "
                    "take in part of every 8-hour night whatever the host's timezone.")] = 18
    mining_min_p2p_peers: Annotated[StrictInt, Field(
        ge=2,
        description="... or the coin's p2p port to at least this many distinct peers: a node keeps 8 outbound "
                    "connections and rotates them; a wallet or a one-off contact reaches one or two (one peer is "
                    "a contact, never mining).")] = 8


@dataclass(config=SCHEMA)
class CatalogSettings:
    """Where the `<layer>.<table>` names live (README, "SQL catalog")."""

    metastore_uri: Annotated[StrictStr, Field(
        description="`thrift://host:9083` of an external Hive metastore; empty: the embedded Derby metastore "
                    "under state_dir, which only one JVM at a time can open.")] = ""
    state_dir: Annotated[StrictStr, AfterValidator(_resolved_path), Field(
        description="Local catalog state: the embedded metastore, the Thrift server's PID and log; relative to "
                    "the working directory.")] = "./.run/catalog"
    thrift_port: Annotated[StrictInt, Field(
        ge=1, le=65535, description="The port of the Thrift server, which listens on 127.0.0.1 only.")] = 10000
    authentication: Annotated[Literal["ldap", "none"], Field(
        description="Who may use the Thrift server: `ldap` checks each login's password with a simple bind as "
                    "`uid=<user>,<ldap_base_dn>` at ldap_url (HiveServer2's own LDAP settings); `none` lets "
                    "anyone who can reach 127.0.0.1 in, for a machine with one user.")] = "ldap"
    ldap_url: Annotated[StrictStr, Field(
        description="The LDAP server (`ldap://` or `ldaps://`); the default is the local slapd `make ldap` runs "
                    "(infra/ldap.sh).")] = "ldap://127.0.0.1:3890"
    ldap_base_dn: Annotated[StrictStr, Field(
        description="Where the logins' entries are.")] = "ou=people,dc=flowlake,dc=test"
    user: Annotated[StrictStr, Field(
        description="Who beeline logs in as (`flowlake sql`, `register` while the server runs).")] = "analyst"
    password_env: Annotated[StrictStr, Field(
        description="The environment variable holding that login's password, never this file.")] = \
        "FLOWLAKE_SQL_PASSWORD"

    @field_validator("ldap_url")
    @classmethod
    def _ldap_url(cls, url: str, info: ValidationInfo) -> str:
        if info.data.get("authentication") == "ldap" and not url.startswith(("ldap://", "ldaps://")):
            raise ValueError("expected an ldap:// or ldaps:// URL (authentication is ldap)")
        return url


@dataclass(config=SCHEMA)
class QualitySettings:
    """The Great Expectations gates."""

    driver_max_rows: Annotated[StrictInt, Field(
        ge=0,
        description="A gate collects a batch of at most this many rows to the driver and validates it with Great "
                    "Expectations' pandas engine, one Spark job instead of eight or nine per suite; a bigger batch "
                    "is validated by its Spark engine where it lies (0: every batch). 100,000 silver rows take "
                    "about 150 MB of driver memory as pandas objects.")] = 100_000


@dataclass(config=SCHEMA)
class MaintenanceSettings:
    """`flowlake maintain`: OPTIMIZE, VACUUM and quarantine housekeeping."""

    vacuum_retention_hours: Annotated[StrictInt, Field(
        ge=0,
        description="VACUUM removes files no table version newer than this still needs, where no delivered report "
                    "pins a version. Delta refuses less than 168 hours (a reader or writer may still be using "
                    "them) unless told it is safe.")] = 168
    quarantine_retention_days: Annotated[StrictInt, Field(
        ge=0,
        description="bronze.quarantine rows ingested longer ago than this (before the run's as-of day) are "
                    "deleted; the raw objects they came from stay in object storage.")] = 90
    reproducible_days: Annotated[StrictInt, Field(
        ge=0,
        description="A delivered report's table versions are kept from VACUUM this many days after its delivery, "
                    "so `flowlake report --reproduce` can render it again; 400 covers a year's reports and the "
                    "questions after them.")] = 400


# One bare address: no second address, display name or header hidden in it.
BARE_ADDRESS = re.compile(r"[^@\s,;<>\"']+@[^@\s,;<>\"']+")


def recipient_allowed(address: str, allowed: tuple[str, ...]) -> bool:
    """Whether `address` is one bare address matching `allowed` (whole, or `@domain`).

    "eve@evil.org, a@example.org" ends with an allowed domain but would be mailed to both.
    """
    address = address.strip().lower()
    if not BARE_ADDRESS.fullmatch(address):
        return False
    return any(address == a.lower() or (a.startswith("@") and address.endswith(a.lower())) for a in allowed)


@dataclass(config=SCHEMA)
class ReportSettings:
    """Report windows and delivery (README, "Reports"). SMTP settings come by environment variable name, like
    S3's; the Airflow task fills them from its SMTP connection."""

    local_timezone: Annotated[TimeZone, Field(
        description="The monitored users' own clock, for the weekday-by-hour heat map.")] = "UTC"
    trend_months: Annotated[StrictInt, Field(ge=1, description="The months the trend report covers.")] = 6
    top_services: Annotated[StrictInt, Field(ge=1, description="The services the trend report names.")] = 8
    shift_from: Annotated[StrictStr, Field(
        description="The trend's headline shift: the month shift_to's share of bytes overtook this category's.")] = \
        "western_social"
    shift_to: Annotated[StrictStr, Field(description="... the category that overtook it.")] = "chinese_services"
    bootstrap_replicates: Annotated[StrictInt, Field(
        ge=1,
        description="Intervals on shares and activity ratios, and the change points' ranges of weeks: this many "
                    "bootstrap replicates over hosts and days (README, \"Uncertainty\").")] = 200
    bootstrap_seed: Annotated[StrictInt, Field(
        description="... drawn from this seed, so a report rendered again from the same tables prints the same "
                    "intervals.")] = 21
    crypto_compare_months_back: Annotated[StrictInt, Field(
        ge=1,
        description="The crypto report compares the month of --as-of with the month this many months before (6 "
                    "puts a winter beside the summer before it, as the published analysis did).")] = 1
    sender: Annotated[StrictStr, Field(description="The From address of mailed reports.")] = "flowlake@localhost"
    allowed_recipients: Annotated[tuple[StrictStr, ...], Field(
        description="Mail goes only to addresses listed here, whole (`a@b.org`) or by domain (`@b.org`).")] = ()
    recipients: Annotated[tuple[StrictStr, ...], Field(
        description="Who `flowlake report --email` mails; each must be one bare address that allowed_recipients "
                    "admits.")] = ()
    smtp_host_env: Annotated[StrictStr, Field(
        description="The environment variable holding the SMTP host.")] = "FLOWLAKE_SMTP_HOST"
    smtp_port_env: Annotated[StrictStr, Field(
        description="The environment variable holding the SMTP port; unset: 25, 587 or 465 by smtp_tls.")] = \
        "FLOWLAKE_SMTP_PORT"
    smtp_user: Annotated[StrictStr, Field(
        description="The SMTP login, unless the variable smtp_user_env names is set (the Airflow task fills it "
                    "from its connection); empty: no login.")] = ""
    smtp_user_env: Annotated[StrictStr, Field(
        description="The environment variable that overrides smtp_user.")] = "FLOWLAKE_SMTP_USER"
    smtp_password_env: Annotated[StrictStr, Field(
        description="The environment variable holding the SMTP password, never this file.")] = \
        "FLOWLAKE_SMTP_PASSWORD"
    smtp_tls: Annotated[SmtpTls, Field(
        description="`none`: plain SMTP (a login then only to a server on this machine); `starttls`: upgraded "
                    "before the login (port 587); `tls`: TLS from the first byte (SMTPS, port 465). The server's "
                    "certificate is checked against the system's CAs, or smtp_ca_file's.")] = "none"
    smtp_ca_file: Annotated[StrictStr, Field(
        description="A PEM file of the CAs to check the SMTP server's certificate with; empty: the "
                    "system's.")] = ""
    send_attempts: Annotated[StrictInt, Field(
        ge=1, description="Tries at mailing a report before its delivery fails.")] = 3
    retry_seconds: Annotated[StrictFloat, Field(
        ge=0, description="The wait before the first retry, doubled for each after it.")] = 2.0
    pseudonymise: Annotated[StrictBool | None, Field(
        description="Internal addresses in reports as keyed pseudonyms (flowlake.reports.pseudonyms). Unset: "
                    "every report that is mailed is pseudonymised (mail leaves the warehouse's access control), "
                    "the others not; true: every report; false: none, mailed or not (the explicit "
                    "opt-out).")] = None
    pseudonym_key_env: Annotated[StrictStr, Field(
        description="The environment variable holding the pseudonyms' key, never this file.")] = \
        "FLOWLAKE_PSEUDONYM_KEY"

    @field_validator("recipients")
    @classmethod
    def _recipients_allowed(cls, recipients: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        allowed = info.data.get("allowed_recipients")
        refused = [r for r in recipients if not recipient_allowed(r, allowed or ())]
        if allowed is not None and refused:
            raise ValueError(f"expected addresses that allowed_recipients {list(allowed)} admits; {refused} are "
                             "not in allowed_recipients")
        return recipients


def _none_as_empty(value):
    return {} if value is None else value


SettingsT = typing.TypeVar("SettingsT")
# A section of the file: a settings class, null (every key under it commented out) its defaults.
Section = Annotated[SettingsT, BeforeValidator(_none_as_empty)]


def _section(cls):
    # A stdlib field, not Field(default_factory=...): a stdlib dataclass subclassing Config
    # (whatif's ScratchConfig) sees a default factory where it would see a FieldInfo.
    return dataclasses.field(default_factory=cls)


@dataclass(config=SCHEMA, kw_only=True)
class ConfigFile:
    """Every key of a config file."""

    raw_uri: Annotated[Uri, Field(
        description="Where the raw dumps are (`file://` or `s3a://`): every object below it is a dump.")] = \
        "file://./data/raw"
    warehouse_uri: Annotated[Uri, Field(
        description="The Delta tables, at `<warehouse_uri>/<layer>/<table>`.")] = "file://./data/warehouse"
    reports_uri: Annotated[Uri, Field(
        description="Delivered reports, at `<reports_uri>/<name>/<period>/`.")] = "file://./data/reports"
    scratch_uri: Annotated[StrictStr, Field(
        description="Where `flowlake whatif` rebuilds silver and gold, never inside warehouse_uri; empty: "
                    "`scratch` beside the warehouse (the same storage, so a rebuild reads bronze locally).")] = ""
    monitored_ranges: Annotated[tuple[MonitoredRange, ...], AfterValidator(_not_empty), Field(
        description="The monitored networks, at least one; required.")]
    sources: Annotated[tuple[Source, ...], BeforeValidator(lambda v: () if v is None else v), Field(
        description="Per raw prefix: format, exporter clock, sampling; objects no prefix matches take the "
                    "defaults.")] = ()
    s3: Section[S3Settings] = _section(S3Settings)
    spark: Section[SparkSettings] = _section(SparkSettings)
    bronze: Section[BronzeSettings] = _section(BronzeSettings)
    silver: Section[SilverSettings] = _section(SilverSettings)
    gold: Section[GoldSettings] = _section(GoldSettings)
    reports: Section[ReportSettings] = _section(ReportSettings)
    maintenance: Section[MaintenanceSettings] = _section(MaintenanceSettings)
    catalog: Section[CatalogSettings] = _section(CatalogSettings)
    quality: Section[QualitySettings] = _section(QualitySettings)

    @model_validator(mode="after")
    def _scratch_beside_warehouse(self):
        scratch = self.scratch_uri or self.warehouse_uri.rsplit("/", 1)[0] + "/scratch"
        object.__setattr__(self, "scratch_uri", resolve_uri(scratch))
        return self

    def table_uri(self, layer: str, table: str) -> str:
        """Where `<layer>.<table>` lives: `<warehouse_uri>/<layer>/<table>`."""
        return f"{self.warehouse_uri}/{layer}/{table}"


@dataclass(config=SCHEMA, kw_only=True)
class Config(ConfigFile):
    """A loaded config: the file's settings and where they came from."""

    path: StrictStr


def source_for(sources: tuple[Source, ...], relative_key: str) -> Source:
    """The source settings of an object, by the longest matching prefix."""
    matches = [s for s in sources if relative_key.startswith(s.prefix)]
    return max(matches, key=lambda s: len(s.prefix)) if matches else Source(prefix="")


class ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader without YAML 1.1's surprising numbers: `1:10` (base 60, 70),
    `025` (octal, 21) and `0x19` stay strings, so a key that expects a number refuses them
    instead of taking a value nobody meant."""


INT_TAG, FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (INT_TAG, FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
ConfigLoader.add_implicit_resolver(INT_TAG, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))
ConfigLoader.add_implicit_resolver(
    FLOAT_TAG, re.compile(r"^(?:[-+]?(?:(?:0|[1-9][0-9_]*)\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?"
                          r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))

# What pydantic's error types expect, in the words of a config file.
EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "a string", "tuple_type": "a list", "list_type": "a list",
    "dataclass_type": "a mapping of keys to values", "dict_type": "a mapping of keys to values",
}
BOUNDS = {"greater_than_equal": ("ge", "at least"), "greater_than": ("gt", "more than"),
          "less_than_equal": ("le", "at most"), "less_than": ("lt", "less than")}


def _dotted(loc: tuple) -> str:
    """`monitored_ranges[0].name` for pydantic's ('monitored_ranges', 0, 'name')."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def _settings_at(loc: tuple, root: type):
    """The settings class whose keys are found at `loc` of `root`'s."""
    settings = root
    for part in loc:
        if isinstance(part, str):
            settings = settings.__pydantic_fields__[part].annotation
            while typing.get_origin(settings) is tuple:
                settings = typing.get_args(settings)[0]
    return settings


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _problem(error: dict, root: type) -> str:
    """One line for one problem: `<dotted.key>: expected <what>, got <value>`."""
    loc, kind, value = error["loc"], error["type"], error["input"]
    key = _dotted(loc) or "the file"
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        known = list(_settings_at(loc[:-1], root).__pydantic_fields__)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        guess = f" (did you mean {close[0]}?)" if close else ""
        return f"{key}: unknown key{guess}; known keys: {', '.join(known)}"
    if kind == "missing":
        return f"{key}: required key missing"
    if kind == "invalid_key":  # `1: x`: YAML keys may be numbers, ours are names
        return f"{_dotted(loc[:-1]) or 'the file'}: key {value!r}: expected a key name (a string)"
    context = error.get("ctx") or {}
    if kind in EXPECTED:
        expected = EXPECTED[kind]
        if kind == "string_type" and isinstance(value, (bool, int, float)):
            # YAML reads an unquoted yes, no, on, off (Norway's code NO) as a boolean, 1.0 as a number.
            expected += " (quote it: unquoted, YAML reads it as a boolean or a number)"
    elif kind in BOUNDS:
        bound, words = BOUNDS[kind]
        expected = f"{words} {context[bound]:g}"
    elif kind == "value_error":
        expected = str(context.get("error", error["msg"])).removeprefix("expected ")
    else:
        expected = error["msg"].removeprefix("Input should be ")
    return f"{key}: expected {expected}, got {_shown(value)}"


def problem_lines(err: ValidationError, root: type = ConfigFile) -> list[str]:
    """A line per problem pydantic found validating the settings class `root`."""
    return [_problem(e, root) for e in err.errors(include_url=False)]


FILE_SCHEMA = TypeAdapter(ConfigFile)


def load_config(path: str | os.PathLike) -> Config:
    """The config in the YAML file at `path`; a ConfigError naming the file, each bad key and
    what it expected."""
    path = str(path)
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.load(handle, Loader=ConfigLoader)
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    try:
        settings = FILE_SCHEMA.validate_python({} if raw is None else raw)
    except ValidationError as err:
        raise ConfigError("\n".join(f"{path}: {line}" for line in problem_lines(err))) from None
    return Config(path=path, **{f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)})
