"""The flowlake YAML config: one file, every key but `monitored_ranges` defaulted.

`load_config(path)` reads and checks it and returns a `Config`. Relative `file://` URIs
(`file://./data/raw`) are resolved against the working directory. Secrets never appear
here: the S3 settings name the environment variables that hold them.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

# What a catalog name or a monitored range's name may be: it becomes a SQL identifier, a file
# name and part of an object key, where a quote, a dot, a slash or a space would mean something.
PLAIN_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

FORMATS = ("auto", "nfcapd", "nfdump_csv", "goflow2_json", "vpc_flow_log", "argus", "pdns_cof")


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class MonitoredRange:
    name: str
    cidrs: tuple[str, ...]


@dataclass(frozen=True)
class Source:
    """Settings for every raw object whose key, relative to raw_uri, starts with `prefix`."""

    prefix: str
    format: str = "auto"
    timezone: str = "UTC"
    sampling_rate: int | None = None


@dataclass(frozen=True)
class S3Settings:
    """Names of the environment variables holding the S3 endpoint and credentials; the writer lease."""

    endpoint_env: str = "FLOWLAKE_S3_ENDPOINT"
    access_key_env: str = "AWS_ACCESS_KEY_ID"
    secret_key_env: str = "AWS_SECRET_ACCESS_KEY"
    region: str = "us-east-1"
    # The writer lease on an s3a:// warehouse (flowlake.lease): a holder that stops renewing it
    # (killed) loses it after lease_seconds; a run waits at most lease_wait_seconds for it.
    lease_seconds: int = 300
    lease_wait_seconds: int = 3600

    def endpoint(self) -> str | None:
        return os.environ.get(self.endpoint_env) or None


@dataclass(frozen=True)
class SparkSettings:
    # Sized for a 2-core, 24 GiB machine: 2x cores shuffle partitions keeps tasks busy
    # without hundreds of tiny ones.
    master: str = "local[2]"
    driver_memory: str = "4g"
    shuffle_partitions: int = 4
    # For a cluster (docs/DEPLOY.md). The package as a zip or wheel the executors import flowlake
    # from (spark.submit.pyFiles), when their Python does not have it installed.
    py_files: str = ""
    # The interpreter executors run on their machines; empty: the one running flowlake.
    executor_python: str = ""
    # The address the driver listens on and executors reach it at: loopback unless a cluster on
    # other machines must connect back (client mode).
    driver_host: str = "127.0.0.1"
    # True when every cluster node has Spark's extra jars at the paths `make setup` gives them here
    # (one image for every node, or the test cluster on this machine): they are then named as
    # local: URIs, and no application copies the 628 MB to its executors.
    jars_on_nodes: bool = False


@dataclass(frozen=True)
class BronzeSettings:
    # A run fails when more than this share of a batch's lines goes to quarantine (a daily run
    # is one batch).
    max_quarantine_rate: float = 0.05
    # Objects parsed per Spark task; bounds the memory one Python worker holds at once.
    objects_per_task: int = 8
    # Raw (compressed) MiB ingested per batch, each parsed, gated and committed on its own:
    # bounds the parsed rows the driver caches (about 2.6 times the raw bytes) on a long backlog.
    batch_mib: float = 256
    # A flow record further than this from its dump's median day has a broken clock.
    max_days_from_dump: int = 2
    # The nfdump binary that converts nfcapd files, on every Spark node: a name on PATH or a path.
    nfdump: str = "nfdump"
    # An object larger than this once decompressed (a gzip bomb) is quarantined whole; reading
    # stops at the bound, which is about what one Python worker holds of it.
    max_decompressed_mib: float = 2048

    def __post_init__(self):
        if not isinstance(self.batch_mib, (int, float)) or self.batch_mib <= 0:
            raise TypeError(f"batch_mib {self.batch_mib!r} is not a positive number of MiB")
        if not isinstance(self.max_decompressed_mib, (int, float)) or self.max_decompressed_mib <= 0:
            raise TypeError(f"max_decompressed_mib {self.max_decompressed_mib!r} is not a positive number of MiB")


@dataclass(frozen=True)
class SilverSettings:
    # Offline geolocation package: iptocc (RIR delegations) or geoip2fast (GeoLite2-derived).
    geo_source: str = "iptocc"
    # A service catalog file in place of the bundled jobs/flowlake/reference/catalog.yaml, its
    # address lists beside it; `flowlake whatif --catalog` sets it for its scratch rebuild.
    catalog: str = ""

    def __post_init__(self):
        if self.geo_source not in ("iptocc", "geoip2fast"):
            raise TypeError(f"geo_source {self.geo_source!r} is not one of iptocc, geoip2fast")


@dataclass(frozen=True)
class GoldSettings:
    # Overseas presence: a country is flagged when its activity is at least this many times
    # the mean over countries AND its local news/government/education/military domains number
    # at least presence_min_local_domains AND those local resources were used on at least
    # presence_min_days distinct days by at least presence_min_hosts distinct internal hosts
    # (README, "Overseas presence": a single visit or a single host is no presence).
    presence_min_activity_ratio: float = 1.0
    presence_min_local_domains: int = 3
    presence_min_days: int = 3
    presence_min_hosts: int = 2
    # Crypto period comparison: a host's daily volume or peer rate counts as "the same" as in
    # the previous period when within this fraction of it.
    crypto_same_tolerance: float = 0.25
    # Mining, per day and coin (README, "Mining rule"): stratum sessions to a pool open in at
    # least this many distinct hours of the UTC day; 18 of 24 is more than any working day and
    # evening, and any 18 hours take in part of every 8-hour night whatever the host's timezone.
    mining_min_pool_hours: int = 18
    # ... or the coin's p2p port to at least this many distinct peers (a node keeps 8 outbound
    # connections and rotates them; a wallet or a one-off contact reaches one or two).
    mining_min_p2p_peers: int = 8

    def __post_init__(self):
        if not isinstance(self.mining_min_pool_hours, int) or not 1 <= self.mining_min_pool_hours <= 24:
            raise TypeError(f"mining_min_pool_hours {self.mining_min_pool_hours!r} is not a whole number of hours "
                            "from 1 to 24")
        if not isinstance(self.mining_min_p2p_peers, int) or self.mining_min_p2p_peers < 2:
            raise TypeError(f"mining_min_p2p_peers {self.mining_min_p2p_peers!r} is not a whole number of at least 2 "
                            "(one peer is a contact, never mining)")
        for key in ("presence_min_local_domains", "presence_min_days", "presence_min_hosts"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise TypeError(f"{key} {value!r} is not a whole number of at least 1")


@dataclass(frozen=True)
class CatalogSettings:
    """Where the `<layer>.<table>` names live (README, "SQL catalog")."""

    # thrift://host:9083 of an external Hive metastore; empty means the embedded Derby
    # metastore under state_dir, which only one JVM at a time can open.
    metastore_uri: str = ""
    # Local catalog state: the embedded metastore, the Thrift server's PID and log.
    state_dir: str = "./.run/catalog"
    thrift_port: int = 10000
    # Who may use the Thrift server: `ldap` checks each login's password with a simple bind as
    # uid=<user>,<ldap_base_dn> at ldap_url (HiveServer2's own LDAP settings); `none` lets anyone
    # who can reach 127.0.0.1 in, for a machine with one user. The default is the local slapd
    # `make ldap-start` runs (infra/ldap.sh).
    authentication: str = "ldap"
    ldap_url: str = "ldap://127.0.0.1:3890"
    ldap_base_dn: str = "ou=people,dc=flowlake,dc=test"
    # Who beeline logs in as (`flowlake sql`, `register` while the server runs); the password is
    # read from the environment variable named here, never from this file.
    user: str = "analyst"
    password_env: str = "FLOWLAKE_SQL_PASSWORD"

    def __post_init__(self):
        if self.authentication not in ("ldap", "none"):
            raise TypeError(f"authentication {self.authentication!r} is not one of ldap, none")
        if self.authentication == "ldap" and not self.ldap_url.startswith(("ldap://", "ldaps://")):
            raise TypeError(f"ldap_url {self.ldap_url!r} is not an ldap:// or ldaps:// URL")
        # Resolved once, like the URIs: the Thrift server and spark-sql must find the same path.
        object.__setattr__(self, "state_dir", str(Path(self.state_dir).resolve()))


@dataclass(frozen=True)
class QualitySettings:
    # A gate collects a batch of at most this many rows to the driver and validates it with
    # Great Expectations' pandas engine, one Spark job instead of eight or nine per suite; a
    # bigger batch is validated by its Spark engine where it lies. 100,000 silver rows take
    # about 150 MB of driver memory as pandas objects (driver_memory defaults to 4g).
    driver_max_rows: int = 100_000

    def __post_init__(self):
        if isinstance(self.driver_max_rows, bool) or not isinstance(self.driver_max_rows, int) or self.driver_max_rows < 0:
            raise TypeError(f"driver_max_rows {self.driver_max_rows!r} is not a whole number of rows, 0 or more "
                            "(0 validates every batch with the Spark engine)")


@dataclass(frozen=True)
class MaintenanceSettings:
    # VACUUM removes files no table version newer than this still needs. Delta refuses less
    # than 168 hours (a reader or writer may still be using them) unless told it is safe.
    vacuum_retention_hours: int = 168
    # bronze.quarantine rows ingested longer ago than this (before the run's as-of day) are
    # deleted; the raw objects they came from stay in object storage.
    quarantine_retention_days: int = 90
    # A delivered report's table versions are kept from VACUUM this many days after its
    # delivery, so `flowlake report --reproduce` can render it again (README, "Reproducing a
    # delivered report"); 400 covers a year's reports and the questions after them.
    reproducible_days: int = 400

    def __post_init__(self):
        if not isinstance(self.reproducible_days, int) or isinstance(self.reproducible_days, bool) \
                or self.reproducible_days < 0:
            raise TypeError(f"reproducible_days {self.reproducible_days!r} is not a whole number of days (0 or more)")


SMTP_TLS_MODES = ("none", "starttls", "tls")


@dataclass(frozen=True)
class ReportSettings:
    """Report windows and delivery (README, "Reports"). SMTP settings come by environment
    variable name, like S3's; the Airflow task fills them from its SMTP connection."""

    # The monitored users' own clock, for the weekday-by-hour heat map.
    local_timezone: str = "UTC"
    trend_months: int = 6
    top_services: int = 8
    # The trend's headline shift: the month shift_to's share of bytes overtook shift_from's.
    shift_from: str = "western_social"
    shift_to: str = "chinese_services"
    # Intervals on shares and activity ratios, and the change points' ranges of weeks: this
    # many bootstrap replicates over hosts and days, drawn from this seed, so a report
    # rendered again from the same tables prints the same intervals (README, "Uncertainty").
    bootstrap_replicates: int = 200
    bootstrap_seed: int = 21
    # The crypto report compares the month of --as-of with the month this many months before
    # (6 puts a winter beside the summer before it, as the published analysis did).
    crypto_compare_months_back: int = 1
    sender: str = "flowlake@localhost"
    recipients: tuple[str, ...] = ()
    # Mail goes only to addresses listed here, whole (a@b.org) or by domain (@b.org).
    allowed_recipients: tuple[str, ...] = ()
    smtp_host_env: str = "FLOWLAKE_SMTP_HOST"
    smtp_port_env: str = "FLOWLAKE_SMTP_PORT"
    # The login: smtp_user, unless the variable smtp_user_env names is set (the Airflow task fills
    # it from its connection); the password only ever from smtp_password_env.
    smtp_user: str = ""
    smtp_user_env: str = "FLOWLAKE_SMTP_USER"
    smtp_password_env: str = "FLOWLAKE_SMTP_PASSWORD"
    # none: plain SMTP (a login then only to a server on this machine); starttls: upgraded
    # before the login (port 587); tls: TLS from the first byte (SMTPS, port 465). The server's
    # certificate is checked against the system's CAs, or the PEM file smtp_ca_file names.
    smtp_tls: str = "none"
    smtp_ca_file: str = ""
    send_attempts: int = 3
    retry_seconds: float = 2.0
    # Internal addresses in reports as keyed pseudonyms (flowlake.reports.pseudonyms); the key
    # is read from the environment variable named here, never from this file. Unset: every
    # report that is mailed is pseudonymised (mail leaves the warehouse's access control), the
    # others not; true: every report; false: none, mailed or not (the explicit opt-out).
    pseudonymise: bool | None = None
    pseudonym_key_env: str = "FLOWLAKE_PSEUDONYM_KEY"

    def __post_init__(self):
        if self.pseudonymise not in (None, True, False):
            raise TypeError(f"pseudonymise {self.pseudonymise!r} is not true or false (or unset: pseudonymise "
                            f"mailed reports)")
        if self.smtp_tls not in SMTP_TLS_MODES:
            raise TypeError(f"smtp_tls {self.smtp_tls!r} is not one of {', '.join(SMTP_TLS_MODES)}")
        object.__setattr__(self, "recipients", tuple(self.recipients))
        object.__setattr__(self, "allowed_recipients", tuple(self.allowed_recipients))
        refused = [r for r in self.recipients if not recipient_allowed(r, self.allowed_recipients)]
        if refused:
            raise TypeError(f"recipients {refused} are not in allowed_recipients {list(self.allowed_recipients)}")
        try:
            ZoneInfo(self.local_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise TypeError(f"unknown local_timezone {self.local_timezone!r}") from None


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


@dataclass(frozen=True)
class Config:
    path: str
    raw_uri: str
    warehouse_uri: str
    reports_uri: str
    monitored_ranges: tuple[MonitoredRange, ...]
    # Where `flowlake whatif` rebuilds silver and gold, never inside warehouse_uri.
    scratch_uri: str = ""
    sources: tuple[Source, ...] = ()
    s3: S3Settings = field(default_factory=S3Settings)
    spark: SparkSettings = field(default_factory=SparkSettings)
    bronze: BronzeSettings = field(default_factory=BronzeSettings)
    silver: SilverSettings = field(default_factory=SilverSettings)
    gold: GoldSettings = field(default_factory=GoldSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    maintenance: MaintenanceSettings = field(default_factory=MaintenanceSettings)
    catalog: CatalogSettings = field(default_factory=CatalogSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)

    def table_uri(self, layer: str, table: str) -> str:
        """Where `<layer>.<table>` lives: `<warehouse_uri>/<layer>/<table>`."""
        return f"{self.warehouse_uri}/{layer}/{table}"



def source_for(sources: tuple[Source, ...], relative_key: str) -> Source:
    """The source settings of an object, by the longest matching prefix."""
    matches = [s for s in sources if relative_key.startswith(s.prefix)]
    return max(matches, key=lambda s: len(s.prefix)) if matches else Source(prefix="")


def resolve_uri(uri: str) -> str:
    """Absolute form of a storage URI; `file://./x` and bare paths become `file:///abs/x`."""
    uri = str(uri).rstrip("/")
    if uri.startswith("s3a://") or uri.startswith("s3://"):
        return "s3a://" + uri.split("://", 1)[1]
    path = uri[len("file://"):] if uri.startswith("file://") else uri
    return "file://" + str(Path(path).resolve())


def _fail(path: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: {message}")


def _ranges(path: str, raw) -> tuple[MonitoredRange, ...]:
    if not raw:
        raise _fail(path, "monitored_ranges is required and must list at least one range")
    ranges = []
    for i, item in enumerate(raw):
        where = f"monitored_ranges[{i}]"
        if not isinstance(item, dict) or not item.get("name") or not item.get("cidrs"):
            raise _fail(path, f"{where} needs a name and a list of cidrs")
        if not PLAIN_IDENTIFIER.fullmatch(str(item["name"])):
            raise _fail(path, f"{where}.name {item['name']!r} is not a plain identifier "
                              f"(a letter or _, then letters, digits or _): it names report files and keys")
        for cidr in item["cidrs"]:
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError as err:
                raise _fail(path, f"{where}: {cidr!r} is not a network address ({err})") from None
        ranges.append(MonitoredRange(name=str(item["name"]), cidrs=tuple(item["cidrs"])))
    return tuple(ranges)


def _sources(path: str, raw) -> tuple[Source, ...]:
    sources = []
    for i, item in enumerate(raw or ()):
        where = f"sources[{i}]"
        unknown = set(item) - {"prefix", "format", "timezone", "sampling_rate"}
        if unknown:
            raise _fail(path, f"{where}: unknown keys {sorted(unknown)}")
        source = Source(**item)
        if source.format not in FORMATS:
            raise _fail(path, f"{where}: format {source.format!r} is not one of {FORMATS}")
        try:
            ZoneInfo(source.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise _fail(path, f"{where}: unknown timezone {source.timezone!r}") from None
        sources.append(source)
    return tuple(sources)


def _section(path: str, raw: dict, key: str, cls):
    values = raw.get(key) or {}
    try:
        return cls(**values)
    except TypeError as err:
        raise _fail(path, f"{key}: {err}") from None


def load_config(path: str | os.PathLike) -> Config:
    path = str(path)
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle) or {}
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    known = {"raw_uri", "warehouse_uri", "reports_uri", "scratch_uri", "monitored_ranges", "sources", "s3",
             "spark", "bronze", "silver", "gold", "maintenance", "catalog", "reports", "quality"}
    unknown = set(raw) - known
    if unknown:
        raise _fail(path, f"unknown keys {sorted(unknown)}; known keys are {sorted(known)}")
    warehouse_uri = resolve_uri(raw.get("warehouse_uri", "file://./data/warehouse"))
    return Config(
        path=path,
        raw_uri=resolve_uri(raw.get("raw_uri", "file://./data/raw")),
        warehouse_uri=warehouse_uri,
        # Beside the warehouse by default: the same storage, so a rebuild reads bronze locally.
        scratch_uri=resolve_uri(raw.get("scratch_uri", warehouse_uri.rsplit("/", 1)[0] + "/scratch")),
        reports_uri=resolve_uri(raw.get("reports_uri", "file://./data/reports")),
        monitored_ranges=_ranges(path, raw.get("monitored_ranges")),
        sources=_sources(path, raw.get("sources")),
        s3=_section(path, raw, "s3", S3Settings),
        spark=_section(path, raw, "spark", SparkSettings),
        bronze=_section(path, raw, "bronze", BronzeSettings),
        silver=_section(path, raw, "silver", SilverSettings),
        gold=_section(path, raw, "gold", GoldSettings),
        reports=_section(path, raw, "reports", ReportSettings),
        maintenance=_section(path, raw, "maintenance", MaintenanceSettings),
        catalog=_section(path, raw, "catalog", CatalogSettings),
        quality=_section(path, raw, "quality", QualitySettings),
    )
