"""Classification: what each remote endpoint is, by the catalog's rules in priority order.

Rules are resolved once per distinct hostname (`hostname_profiles`) and once per distinct
remote address (`address_profiles`), never once per flow; `agreed_hostnames` decides, once per
distinct set of passive-DNS candidates, which name (if any) a flow is classified by;
`classified_flows` joins the profiles back and applies the priorities:

1. service and category: domain suffix of the hostname, else the address's longest prefix,
   else the AS the address belongs to, else the remote port and protocol, else
   `unclassified`/`other`; so an address in a cloud's customer space is hosting unless its
   name says which service it serves;
2. crypto: a p2p or rpc port of a coin, a known pool of the coin reached on a stratum port
   (`pool`) or on a web port (`pool_web`: its web site, a contact at most), gives `crypto_coin`
   and `crypto_role`, and then service = the coin, category = crypto; gold decides from these
   per-flow facts whether a host mines;
3. local resources: a news, government or education domain, with the country it belongs to
   (the catalog's, else the hostname's country-code TLD, else the address's geography).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from flowlake.silver.addresses import longest_prefix_match
from flowlake.silver.service_catalog import UNCLASSIFIED

GENERIC_TLDS_OF_TWO_LETTERS = ("co", "io", "ai", "tv", "me", "fm", "cc", "ws", "to", "gg", "ly")


def _suffixes(hostname: str):
    """Every suffix of a hostname, longest first: a.b.c -> [a.b.c, b.c, c] (with their position)."""
    labels = F.split(F.col(hostname), r"\.")
    return F.transform(F.sequence(F.lit(1), F.size(labels)),
                       lambda i: F.array_join(F.slice(labels, i, F.size(labels) - i + 1), "."))


def hostname_profiles(hostnames: DataFrame, domain_rules: DataFrame) -> DataFrame:
    """Per distinct hostname: the domain rule's service/category, pool coin, local resource facts."""
    names = hostnames.select("hostname").where("hostname IS NOT NULL").distinct()
    exploded = names.select("hostname", F.posexplode(_suffixes("hostname")).alias("pos", "suffix"))
    matched = exploded.join(F.broadcast(domain_rules), "suffix")
    # Under a registry suffix (ac.in) the organisation is the name one label longer (iitd.ac.in).
    # A hostname that is itself the registry suffix (nic.in) is its own organisation.
    organisation = (F.when(F.col("registry_suffix") & (F.col("pos") > 0), F.element_at(_suffixes("hostname"), F.col("pos")))
                    .when(F.col("registry_suffix"), F.col("hostname")).otherwise(F.col("suffix")))

    def longest(column):
        return F.min_by(column, F.when(column.isNotNull(), F.col("pos")))

    profiles = matched.groupBy("hostname").agg(
        longest(F.col("service")).alias("domain_service"), longest(F.col("category")).alias("domain_category"),
        longest(F.col("pool_coin")).alias("pool_coin"),
        longest(F.col("local_kind")).alias("local_resource_kind"),
        longest(F.when(F.col("local_kind").isNotNull(), organisation)).alias("local_resource_domain"),
        longest(F.col("local_country")).alias("_listed_country"))
    tld = F.upper(F.element_at(F.split("hostname", r"\."), -1))
    cc_tld = F.when((F.length(tld) == 2) & ~F.lower(tld).isin(*GENERIC_TLDS_OF_TWO_LETTERS), tld)
    return (profiles.withColumn("local_resource_country",
                                F.when(F.col("local_resource_kind").isNotNull(), F.coalesce("_listed_country", cc_tld)))
            .drop("_listed_country"))


def agreed_hostnames(flows: DataFrame, profiles: DataFrame) -> DataFrame:
    """`flows` plus `hostname`: the name it is classified by, or null where there is none.

    A flow whose remote address had one name at the time takes it. A shared address with
    several (`dns_candidates`) names the flow only when every candidate has the same profile
    (service, category, pool, local resource): then the first candidate stands for them all.
    Otherwise the name says nothing (a CDN edge that passive DNS also saw serving a mining pool
    is not a pool), the hostname is null, and the address, ASN or port classify the flow;
    `dns_names` > 1 with a null hostname marks it as ambiguous.
    """
    facts = [c for c in profiles.columns if c != "hostname"]
    sets = flows.select("dns_candidates").where(F.size("dns_candidates") > 1).distinct()
    members = sets.select("dns_candidates", F.explode("dns_candidates").alias("hostname"))
    verdicts = (members.join(profiles, "hostname", "left")
                .groupBy("dns_candidates").agg(F.count_distinct(F.struct(*facts)).alias("_profiles"))
                .where("_profiles = 1").select("dns_candidates", F.lit(True).alias("_agreed")))
    single = F.size("dns_candidates") == 1
    return (flows.join(F.broadcast(verdicts), "dns_candidates", "left")
            .withColumn("hostname", F.when(single | F.col("_agreed"), F.element_at("dns_candidates", 1)))
            .drop("_agreed"))


def ambiguous_name() -> Column:
    """A classified flow whose address had several names that disagree: it had no name to go by."""
    return (F.col("dns_names") > 1) & F.col("hostname").isNull()


def address_profiles(addresses: DataFrame, prefix_rules: DataFrame, asn_rules: DataFrame,
                     locations: DataFrame) -> DataFrame:
    """Per distinct remote address: the longest catalog prefix's and the AS's service/category,
    the country and the AS (`locations`: remote_ip, remote_country, remote_asn, remote_as_name)."""
    distinct = addresses.select("remote_ip").distinct()
    return (longest_prefix_match(distinct, "remote_ip", prefix_rules).join(locations, "remote_ip", "left")
            .join(F.broadcast(asn_rules), F.col("remote_asn") == F.col("asn_rule_asn"), "left")
            .drop("asn_rule_asn"))


def classified_flows(flows: DataFrame, hostnames: DataFrame, addresses: DataFrame, port_rules: DataFrame,
                     crypto_ports: DataFrame, stratum_ports: list[int], pool_web_ports: list[int]) -> DataFrame:
    """Flows with service, category, crypto and local-resource columns, by the rule priorities."""
    joined = (flows.join(hostnames, "hostname", "left").join(addresses, "remote_ip", "left")
              .join(F.broadcast(port_rules), (F.col("remote_port") == F.col("port_rule_port"))
                    & (F.col("protocol") == F.col("port_rule_protocol")), "left")
              # Bitcoin's and Monero's p2p and rpc protocols run over TCP only.
              .join(F.broadcast(crypto_ports), (F.col("remote_port") == F.col("crypto_port"))
                    & (F.col("protocol") == 6), "left"))
    pool = F.col("pool_coin").isNotNull() & F.col("remote_port").isin(*stratum_ports)
    pool_web = F.col("pool_coin").isNotNull() & F.col("remote_port").isin(*pool_web_ports)
    crypto_coin = F.when(pool | pool_web, F.col("pool_coin")).otherwise(F.col("port_coin"))
    crypto_role = F.when(pool, F.lit("pool")).when(pool_web, F.lit("pool_web")).otherwise(F.col("port_role"))
    service = F.coalesce("domain_service", "prefix_service", "asn_service", "port_service", F.lit(UNCLASSIFIED))
    category = F.coalesce("domain_category", "prefix_category", "asn_category", "port_category", F.lit("other"))
    return joined.select(
        *flows.columns,
        F.coalesce(crypto_coin, service).alias("service"),
        F.when(crypto_coin.isNotNull(), F.lit("crypto")).otherwise(category).alias("category"),
        "local_resource_kind", "local_resource_domain",
        F.when(F.col("local_resource_kind").isNotNull(),
               F.coalesce("local_resource_country", "remote_country")).alias("local_resource_country"),
        crypto_coin.alias("crypto_coin"), crypto_role.alias("crypto_role"), "remote_country",
        "remote_asn", "remote_as_name")
