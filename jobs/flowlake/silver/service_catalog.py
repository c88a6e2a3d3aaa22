"""The versioned service catalog (jobs/flowlake/reference/catalog.yaml) as rule tables.

`load_catalog()` reads and checks the YAML and the dated address lists it names
(`services[].address_lists`, files beside it); `configured_catalog(file)` is the one config
`silver.catalog` names (the bundled one when empty), which what-if runs swap for another; `Catalog.*_rules(spark)` give the small
DataFrames silver joins against: domain suffixes, address prefixes, AS numbers, ports, crypto
and local resource rules. The YAML's header explains the priorities. Government, education and
military registry suffixes (gov.vn, ac.uk, mil.br) come from the Public Suffix List, not the
YAML (`flowlake.silver.public_suffixes`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from flowlake.errors import InputRefused
from flowlake.silver.addresses import prefix_table
from flowlake.silver.public_suffixes import PublicSuffixList, bundled_list

# Read as package data, so it is found when flowlake is imported from a zip (--py-files) too.
REFERENCE_DIR = files("flowlake") / "reference"
CATALOG_PATH = REFERENCE_DIR / "catalog.yaml"
CATEGORIES = ("western_social", "chinese_services", "streaming", "gaming", "crypto", "anonymity", "search", "other")
LOCAL_KINDS = ("news", "government_national", "government_district", "government_municipal", "education",
               "military")
UNCLASSIFIED = "unclassified"
SECTIONS = ("version", "as_names", "services", "ports", "crypto", "local_resources")


class ServiceCatalogError(InputRefused):
    """The catalog file breaks a rule; the message names the entry."""

    label = "catalog error"


@dataclass(frozen=True)
class Catalog:
    version: str
    raw: dict
    public_suffixes: PublicSuffixList
    # file name -> its addresses, for the services' `address_lists`
    address_lists: dict[str, list[str]] = field(default_factory=dict)

    def services(self) -> list[dict]:
        return self.raw["services"]

    def global_infrastructure(self) -> list[str]:
        return [s["name"] for s in self.services() if s.get("global_infrastructure")]

    def prefixes(self, service: dict) -> list[str]:
        """A service's prefixes and the addresses of its lists: a listed address is a prefix of
        full length, so a relay beats the hosting provider's block it sits in."""
        listed = [address for name in service.get("address_lists", []) for address in self.address_lists[name]]
        return service.get("prefixes", []) + listed

    def domain_rules(self, spark: SparkSession) -> DataFrame:
        """suffix -> service, category, and local resource and pool facts, one row per suffix."""
        rows: dict[str, dict] = {}
        for s in self.services():
            for domain in s.get("domains", []):
                rows.setdefault(domain, {})["service"] = s["name"]
                rows[domain]["category"] = s["category"]
        for coin, spec in self.raw["crypto"]["coins"].items():
            for domain in spec["pool_domains"]:
                rows.setdefault(domain, {})["pool_coin"] = coin
        local = self.raw["local_resources"]
        for entry in local["domains"]:
            rows.setdefault(entry["domain"], {}).update(local_kind=entry["kind"], local_country=entry["country"])
        for entry in local.get("education_domains", []):
            rows.setdefault(entry["domain"], {}).update(local_kind="education", local_country=entry["country"])
        for entry in self.public_suffixes.suffixes:
            # Under a registry suffix the organisation is one label more (iitd.ac.in). A named
            # site's own row (delhi.gov.in) is a longer suffix, so it still wins.
            rows.setdefault(entry.suffix, {}).update(local_kind=entry.kind, local_country=entry.country,
                                                     registry_suffix=True)
        schema = T.StructType([T.StructField(n, T.StringType()) for n in
                               ("suffix", "service", "category", "pool_coin", "local_kind", "local_country")]
                              + [T.StructField("registry_suffix", T.BooleanType())])
        return spark.createDataFrame(
            [(suffix, r.get("service"), r.get("category"), r.get("pool_coin"), r.get("local_kind"),
              r.get("local_country"), bool(r.get("registry_suffix"))) for suffix, r in sorted(rows.items())], schema)

    def prefix_rules(self, spark: SparkSession) -> DataFrame:
        schema = T.StructType([T.StructField("prefix_service", T.StringType()),
                               T.StructField("prefix_category", T.StringType())])
        return prefix_table(spark, [(cidr, {"prefix_service": s["name"], "prefix_category": s["category"]})
                                    for s in self.services() for cidr in self.prefixes(s)], schema)

    def as_numbers(self) -> dict[str, int]:
        """AS name as the ASN database spells it -> AS number (the database names ASes, not numbers)."""
        return {name: int(asn) for asn, name in self.raw["as_names"].items()}

    def asn_rules(self, spark: SparkSession) -> DataFrame:
        """AS number -> service, category, for the ASes a service owns (`asns`; `shared_asns` give no rule)."""
        return spark.createDataFrame(
            [(int(asn), s["name"], s["category"]) for s in self.services() for asn in s.get("asns", [])],
            "asn_rule_asn long, asn_service string, asn_category string")

    def port_rules(self, spark: SparkSession) -> DataFrame:
        return spark.createDataFrame(
            [(p["port"], p["protocol"], p["service"], p["category"]) for p in self.raw["ports"]],
            "port_rule_port int, port_rule_protocol int, port_service string, port_category string")

    def crypto_port_rules(self, spark: SparkSession) -> DataFrame:
        """(port, coin, role) for p2p and rpc ports; pools are told by hostname and stratum port."""
        rows = [(port, coin, role) for coin, spec in self.raw["crypto"]["coins"].items()
                for role, key in (("p2p", "p2p_ports"), ("rpc", "rpc_ports")) for port in spec[key]]
        return spark.createDataFrame(rows, "crypto_port int, port_coin string, port_role string")

    def stratum_ports(self) -> list[int]:
        return list(self.raw["crypto"]["stratum_ports"])

    def service_ports(self) -> list[int]:
        """Ports that say their side serves (orientation): the port rules', the coins' and the
        stratum ports, and the registered server ports listed as `server_ports`."""
        coins = self.raw["crypto"]["coins"].values()
        return sorted({p["port"] for p in self.raw["ports"]} | set(self.stratum_ports())
                      | {port for spec in coins for key in ("p2p_ports", "rpc_ports") for port in spec[key]}
                      | set(self.raw.get("server_ports", [])))

    def pool_web_ports(self) -> list[int]:
        """Ports on which a pool's hostname is its web site, not a stratum endpoint."""
        return list(self.raw["crypto"]["pool_web_ports"])


def load_catalog(path: Traversable = CATALOG_PATH, lists_dir: Traversable = REFERENCE_DIR) -> Catalog:
    """The catalog at `path`, its address lists read from `lists_dir`, with the registry
    suffixes of the bundled Public Suffix List."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ServiceCatalogError(f"{path}: cannot read the catalog ({err})") from None
    missing = [key for key in SECTIONS if key not in (raw if isinstance(raw, dict) else {})]
    if missing:
        raise ServiceCatalogError(f"{path}: the catalog has no {', '.join(missing)} (it needs {', '.join(SECTIONS)})")
    for s in raw["services"]:
        if s["category"] not in CATEGORIES:
            raise ServiceCatalogError(f"{path}: service {s['name']}: category {s['category']!r} is not one of {CATEGORIES}")
    _check_asns(path, raw)
    for p in raw["ports"]:
        if p["category"] not in CATEGORIES:
            raise ServiceCatalogError(f"{path}: port rule {p}: category is not one of {CATEGORIES}")
    for entry in raw["local_resources"]["domains"]:
        if entry["kind"] not in LOCAL_KINDS:
            raise ServiceCatalogError(f"{path}: local resource {entry}: kind is not one of {LOCAL_KINDS}")
    names = {name for s in raw["services"] for name in s.get("address_lists", [])}
    return Catalog(version=str(raw["version"]), raw=raw, public_suffixes=bundled_list(),
                   address_lists={name: read_address_list(lists_dir / name) for name in sorted(names)})


def configured_catalog(file: str) -> Catalog:
    """The catalog in `file` (config `silver.catalog`), its address lists beside it; the
    bundled catalog when `file` is empty."""
    if not file:
        return load_catalog()
    return load_catalog(Path(file), Path(file).parent)


def _check_asns(path: Traversable, raw: dict) -> None:
    """One service owns an AS's rule, and every owned AS has the name the ASN database gives it."""
    numbers_by_name: dict[str, int] = {}
    for asn, name in raw["as_names"].items():
        if name in numbers_by_name:
            raise ServiceCatalogError(f"{path}: as_names: AS {numbers_by_name[name]} and AS {asn} are both named {name!r}; "
                               "the ASN database cannot tell them apart, so one number must stand for the name")
        numbers_by_name[name] = asn
    owners: dict[int, str] = {}
    for s in raw["services"]:
        for asn in s.get("asns", []):
            if asn in owners:
                raise ServiceCatalogError(f"{path}: AS {asn} is listed under asns by both {owners[asn]} and {s['name']}; "
                                   "one service owns an AS's rule, the others list it under shared_asns")
            if asn not in raw["as_names"]:
                raise ServiceCatalogError(f"{path}: service {s['name']}: AS {asn} has no entry in as_names "
                                   "(the name the ASN database gives it), so no address could match it")
            owners[asn] = s["name"]


def read_address_list(path: Traversable) -> list[str]:
    """The addresses of a reference list: one a line, `#` starts a comment."""
    if not path.is_file():
        raise ServiceCatalogError(f"{path}: address list named in the catalog does not exist")
    addresses = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            addresses.append(ipaddress.ip_address(text).compressed)
        except ValueError:
            raise ServiceCatalogError(f"{path}, line {number}: expected an IPv4 or IPv6 address, got {text!r}") from None
    return addresses
