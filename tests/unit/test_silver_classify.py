"""Unit tests for flowlake.silver.classify with the real catalog (jobs/flowlake/reference/catalog.yaml).

The catalog's rule tables classify one tiny flows DataFrame once (module fixture); each test
checks the exact output row of the flow built for its rule. Flows whose profile could fail
the query run on their own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flowlake.silver.service_catalog import CATALOG_PATH, ServiceCatalogError, load_catalog, read_address_list
from flowlake.silver.classify import address_profiles, classified_flows, hostname_profiles

FLOW_SCHEMA = "line_number long, remote_ip string, remote_port int, protocol int, hostname string"
TCP, UDP = 6, 17
VPS_ADDRESS = "88.99.1.1"  # Hetzner's AS24940: service vps, category anonymity
CLOUD_ADDRESS = "47.88.1.1"  # Alibaba Cloud's AS45102: service cloud_hosting, category other
NOWHERE = "203.0.113.5"    # in no catalog prefix and no AS
TOR_RELAY = "136.243.147.91"  # in tor_relays_2024-02-27.txt and in Hetzner's AS (vps)

FLOWS = [
    (1, "157.240.1.10", 443, TCP, "scontent.cdninstagram.com"),  # instagram name on a facebook prefix
    (2, "157.240.1.1", 443, TCP, None),                            # facebook's AS, no prefix, no name
    (3, NOWHERE, 1194, UDP, None),                                  # OpenVPN port
    (4, NOWHERE, 8080, TCP, None),                                  # nothing matches
    (5, NOWHERE, 53, TCP, None),                                    # dns port rule is udp only
    (6, VPS_ADDRESS, 8333, TCP, None),                              # bitcoin p2p on a VPS address
    (7, VPS_ADDRESS, 443, TCP, None),                               # the same VPS prefix, no crypto port
    (8, NOWHERE, 18081, TCP, None),                                 # monero rpc
    (9, "198.51.100.7", 4444, TCP, "pool.supportxmr.com"),          # monero pool on a stratum port
    (10, "198.51.100.7", 8080, TCP, "pool.supportxmr.com"),         # same pool name, neither stratum nor web port
    (11, "198.51.100.10", 443, TCP, "www.thehindu.com"),            # listed news site
    (12, "198.51.100.11", 443, TCP, "cs.iitd.ac.in"),               # education under registry suffix ac.in
    (13, "198.51.100.12", 443, TCP, "foo.gov.np"),                  # government under registry suffix gov.np
    (14, "198.51.100.13", 443, TCP, "www.delhi.gov.in"),            # listed municipal site under gov.in
    (15, "198.51.100.8", 443, TCP, "www.supportxmr.com"),           # the pool's web site on 443
    (16, "198.51.100.8", 80, TCP, "www.supportxmr.com"),            # the pool's web site on 80
    (17, CLOUD_ADDRESS, 443, TCP, None),                            # Alibaba Cloud customer box, no name
    (18, CLOUD_ADDRESS, 443, TCP, "www.taobao.com"),                # the same AS, named alibaba
    (19, "8.8.8.8", 53, UDP, None),                                 # public_dns prefix inside google's AS
    (20, TOR_RELAY, 443, TCP, None),                                # a listed Tor relay inside a VPS AS
    (21, "136.243.147.92", 443, TCP, None),                         # its neighbour, no relay: the VPS AS
    (22, "77.88.55.88", 443, TCP, None),                            # Yandex's AS, no name
    (23, "87.240.190.72", 443, TCP, None),                          # VK's AS
    (24, "94.100.180.200", 443, TCP, None),                         # Mail.ru's AS (LLC VK)
    (25, "185.42.204.1", 443, TCP, None),                           # Twitch's AS
]
# (remote_ip, remote_country, remote_asn, remote_as_name), as silver.geo gives them.
LOCATIONS = [("157.240.1.10", "US", 32934, "FACEBOOK"), ("157.240.1.1", "US", 32934, "FACEBOOK"),
             (VPS_ADDRESS, "DE", 24940, "Hetzner Online GmbH"), ("198.51.100.10", "US", None, None),
             ("198.51.100.11", "SG", None, None), ("198.51.100.13", "US", None, None),
             (CLOUD_ADDRESS, "US", 45102, "Alibaba US Technology Co., Ltd."), ("8.8.8.8", "US", 15169, "GOOGLE"),
             (TOR_RELAY, "DE", 24940, "Hetzner Online GmbH"), ("136.243.147.92", "DE", 24940, "Hetzner Online GmbH"),
             ("77.88.55.88", "RU", 13238, "YANDEX LLC"), ("87.240.190.72", "RU", 47541, "VKontakte Ltd"),
             ("94.100.180.200", "RU", 47764, "LLC VK"), ("185.42.204.1", "US", 46489, "TWITCH")]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def classify(spark, catalog, flows):
    flows = spark.createDataFrame(flows, FLOW_SCHEMA)
    locations = spark.createDataFrame(
        LOCATIONS, "remote_ip string, remote_country string, remote_asn long, remote_as_name string")
    return classified_flows(
        flows, hostname_profiles(flows, catalog.domain_rules(spark)),
        address_profiles(flows, catalog.prefix_rules(spark), catalog.asn_rules(spark), locations),
        catalog.port_rules(spark), catalog.crypto_port_rules(spark), catalog.stratum_ports(),
        catalog.pool_web_ports())


@pytest.fixture(scope="module")
def classified(spark, catalog):
    """{line_number: output row as dict} for FLOWS, from one query."""
    rows = classify(spark, catalog, FLOWS).collect()
    assert len(rows) == len(FLOWS), "one output row per flow"
    return {r.line_number: r.asDict() for r in rows}


def row(line, service, category, kind=None, domain=None, local_country=None, coin=None, role=None, country=None):
    _, ip, port, protocol, hostname = next(f for f in FLOWS if f[0] == line)
    _, _, asn, as_name = next((entry for entry in LOCATIONS if entry[0] == ip), (ip, None, None, None))
    return {"remote_asn": asn, "remote_as_name": as_name, "line_number": line, "remote_ip": ip, "remote_port": port, "protocol": protocol, "hostname": hostname,
            "service": service, "category": category, "local_resource_kind": kind,
            "local_resource_domain": domain, "local_resource_country": local_country,
            "crypto_coin": coin, "crypto_role": role, "remote_country": country}


# --- service and category -----------------------------------------------------------------

def test_domain_suffix_beats_the_as_instagram_name_on_a_facebook_address(classified):
    assert classified[1] == row(1, "instagram", "western_social", country="US")


def test_as_rule_classifies_an_address_no_prefix_covers(classified):
    assert classified[2] == row(2, "facebook", "western_social", country="US")


def test_as_rules_name_yandex_vk_mail_ru_and_twitch_addresses_without_a_name(classified):
    assert [(classified[line]["service"], classified[line]["category"]) for line in (22, 23, 24, 25)] == [
        ("yandex", "search"), ("vk", "other"), ("mail_ru", "other"), ("twitch", "streaming")]


def test_cloud_customer_address_without_a_name_is_hosting_not_the_operators_service(classified):
    assert classified[17] == row(17, "cloud_hosting", "other", country="US")


def test_a_name_of_the_operators_service_beats_its_cloud_as(classified):
    assert classified[18] == row(18, "alibaba", "chinese_services", country="US")


def test_prefix_beats_the_as_public_resolver_in_googles_as(classified):
    assert classified[19] == row(19, "public_dns", "other", country="US")


def test_port_rule_applies_when_neither_hostname_nor_prefix_nor_as_match(classified):
    assert classified[3] == row(3, "vpn", "anonymity")


def test_no_rule_gives_unclassified_other(classified):
    assert classified[4] == row(4, "unclassified", "other")


def test_port_rule_needs_the_protocol_too(classified):
    assert classified[5] == row(5, "unclassified", "other")


def test_longest_domain_suffix_gives_the_service(spark):
    rules = spark.createDataFrame(
        [("example.com", "short", "other", None, None, None, False),
         ("cdn.example.com", "long", "streaming", None, None, None, False)],
        "suffix string, service string, category string, pool_coin string, local_kind string, "
        "local_country string, registry_suffix boolean")
    names = spark.createDataFrame([("a.cdn.example.com",), ("www.example.com",)], "hostname string")
    profiles = {r.hostname: (r.domain_service, r.domain_category) for r in hostname_profiles(names, rules).collect()}
    assert profiles == {"a.cdn.example.com": ("long", "streaming"), "www.example.com": ("short", "other")}


# Catalog coverage: each row a hostname, the service and category the real catalog must give it.
# Lookalikes and shared parents check that suffixes match whole labels and the longest wins.
NAMED = [
    ("outlook.office365.com", "outlook", "other"), ("www.hotmail.com", "outlook", "other"),
    ("login.live.com", "outlook", "other"), ("olive.com", "unclassified", "other"),
    ("teams.live.com", "teams", "other"), ("teams.microsoft.com", "teams", "other"),
    ("www.microsoft.com", "microsoft", "other"), ("www.msn.com", "microsoft", "other"),
    ("www.bing.com", "bing", "search"), ("web.skype.com", "skype", "other"),
    ("update.microsoft.com", "windows_update", "other"), ("au.download.windowsupdate.com", "windows_update", "other"),
    ("search.yahoo.com", "yahoo", "search"), ("s.yimg.com", "yahoo", "search"), ("notyahoo.com", "unclassified", "other"),
    ("v.youku.com", "youku", "chinese_services"), ("www.iqiyi.com", "iqiyi", "chinese_services"),
    ("i0.hdslb.com", "bilibili", "chinese_services"), ("www.bilibili.com", "bilibili", "chinese_services"),
    ("news.sina.com.cn", "sina", "chinese_services"), ("wx1.sinaimg.cn", "weibo", "chinese_services"),
    ("www.sohu.com", "sohu", "chinese_services"), ("music.163.com", "netease", "chinese_services"),
    ("mail.126.com", "netease", "chinese_services"), ("item.jd.com", "jd", "chinese_services"),
    ("v.qq.com", "tencent", "chinese_services"),
    ("yandex.ru", "yandex", "search"), ("mc.yandex.com", "yandex", "search"), ("vk.com", "vk", "other"),
    ("sun9-1.userapi.com", "vk", "other"), ("e.mail.ru", "mail_ru", "other"),
    ("www.twitch.tv", "twitch", "streaming"), ("video-weaver.ttvnw.net", "twitch", "streaming"),
    ("open.spotify.com", "spotify", "streaming"), ("i.scdn.co", "spotify", "streaming"),
    ("psiphon3.com", "psiphon", "anonymity"), ("www.getlantern.org", "lantern", "anonymity"),
    ("snowflake-broker.torproject.net", "tor", "anonymity"), ("meek.azureedge.net", "tor", "anonymity"),
    ("ajax.aspnetcdn.com", "unclassified", "other"),  # meek's front: ordinary pages load it too
]
# Circumvention by port convention: (port, protocol) -> service, category.
PORTS = [(8388, TCP, "shadowsocks", "anonymity"), (8388, UDP, "shadowsocks", "anonymity"),
         (10086, TCP, "v2ray", "anonymity"), (10086, UDP, "unclassified", "other")]


@pytest.fixture(scope="module")
def named(spark, catalog):
    """{hostname: (service, category)} for NAMED, from one query (no address or port rule applies)."""
    flows = [(i, NOWHERE, 443, TCP, hostname) for i, (hostname, _, _) in enumerate(NAMED)]
    return {r.hostname: (r.service, r.category) for r in classify(spark, catalog, flows).collect()}


@pytest.mark.parametrize("hostname, service, category", NAMED)
def test_catalog_names_the_service_and_category_of_a_hostname(named, hostname, service, category):
    assert named[hostname] == (service, category)


@pytest.fixture(scope="module")
def by_port(spark, catalog):
    """{(port, protocol): (service, category)} for PORTS, from one query (no name, no prefix)."""
    flows = [(i, NOWHERE, port, protocol, None) for i, (port, protocol, _, _) in enumerate(PORTS)]
    return {(r.remote_port, r.protocol): (r.service, r.category) for r in classify(spark, catalog, flows).collect()}


@pytest.mark.parametrize("port, protocol, service, category", PORTS)
def test_circumvention_port_conventions(by_port, port, protocol, service, category):
    assert by_port[(port, protocol)] == (service, category)


# --- crypto -------------------------------------------------------------------------------

def test_bitcoin_p2p_port_overrides_a_vps_as(classified):
    assert classified[6] == row(6, "bitcoin", "crypto", coin="bitcoin", role="p2p", country="DE")


def test_vps_as_names_the_same_address_without_a_crypto_port(classified):
    assert classified[7] == row(7, "vps", "anonymity", country="DE")


def test_listed_tor_relay_beats_the_vps_prefix_it_sits_in(classified):
    assert classified[20] == row(20, "tor", "anonymity", country="DE")
    assert classified[21] == row(21, "vps", "anonymity", country="DE")


def test_monero_rpc_port(classified):
    assert classified[8] == row(8, "monero", "crypto", coin="monero", role="rpc")


def test_pool_hostname_on_a_stratum_port_is_a_pool(classified):
    assert classified[9] == row(9, "monero", "crypto", coin="monero", role="pool")


def test_pool_hostname_on_neither_a_stratum_nor_a_web_port_is_not_crypto(classified):
    assert classified[10] == row(10, "unclassified", "other")


def test_pool_web_site_on_443_is_pool_web_never_pool(classified):
    # 443 is no stratum port: browsing a pool's site there is a contact, not a stratum session.
    assert classified[15] == row(15, "monero", "crypto", coin="monero", role="pool_web")


def test_pool_web_site_on_80_is_pool_web(classified):
    assert classified[16] == row(16, "monero", "crypto", coin="monero", role="pool_web")


# --- local resources ----------------------------------------------------------------------

def test_listed_news_site_takes_the_catalog_country_over_geography(classified):
    assert classified[11] == row(11, "unclassified", "other", kind="news", domain="thehindu.com",
                                 local_country="IN", country="US")


def test_registry_suffix_gives_organisation_domain_and_cctld_country_over_geography(classified):
    assert classified[12] == row(12, "unclassified", "other", kind="education", domain="iitd.ac.in",
                                 local_country="IN", country="SG")


def test_government_registry_suffix_gives_national_government_of_the_cctld(classified):
    assert classified[13] == row(13, "unclassified", "other", kind="government_national", domain="foo.gov.np",
                                 local_country="NP")


def test_listed_site_under_a_registry_suffix_wins_as_the_longer_suffix(classified):
    assert classified[14] == row(14, "unclassified", "other", kind="government_municipal", domain="delhi.gov.in",
                                 local_country="IN", country="US")


def test_catalog_lists_news_outlets_of_at_least_30_countries(catalog):
    countries = {e["country"] for e in catalog.raw["local_resources"]["domains"] if e["kind"] == "news"}
    assert len(countries) >= 30, sorted(countries)


NEWS = [("vnexpress.net", "vnexpress.net", "VN"), ("www.elcomercio.pe", "elcomercio.pe", "PE"),
        ("jornaldeangola.ao", "jornaldeangola.ao", "AO"), ("g1.globo.com", "globo.com", "BR"),
        ("www.bbc.co.uk", "bbc.co.uk", "GB"), ("www3.nhk.or.jp", "nhk.or.jp", "JP"),
        ("folha.uol.com.br", "folha.uol.com.br", "BR"), ("ria.ru", "ria.ru", "RU"), ("www.dawn.com", "dawn.com", "PK")]


@pytest.fixture(scope="module")
def news(spark, catalog):
    """{hostname: (kind, domain, country)} for NEWS, all on one US address, from one query."""
    flows = [(i, "198.51.100.10", 443, TCP, hostname) for i, (hostname, _, _) in enumerate(NEWS)]
    return {r.hostname: (r.local_resource_kind, r.local_resource_domain, r.local_resource_country)
            for r in classify(spark, catalog, flows).collect()}


@pytest.mark.parametrize("hostname, domain, country", NEWS)
def test_news_outlet_gives_kind_domain_and_listed_country(news, hostname, domain, country):
    # The address is in the US: the listed country wins over geography (and over a generic TLD).
    assert news[hostname] == ("news", domain, country)


def test_hostname_equal_to_a_registry_suffix_does_not_fail_the_query(spark, catalog):
    names = spark.createDataFrame([("nic.in",)], "hostname string")
    profiles = [(r.hostname, r.local_resource_kind, r.local_resource_country)
                for r in hostname_profiles(names, catalog.domain_rules(spark)).collect()]
    assert profiles == [("nic.in", "government_national", "IN")]


# --- the catalog file ---------------------------------------------------------------------

def test_address_list_with_a_bad_line_is_refused_naming_file_and_line(tmp_path: Path):
    path = tmp_path / "relays.txt"
    path.write_text("# relays\n192.0.2.1\n\n2001:DB8::1\n192.0.2.300\n")
    with pytest.raises(ServiceCatalogError, match=r"relays.txt, line 5: expected an IPv4 or IPv6 address, got '192.0.2.300'"):
        read_address_list(path)
    path.write_text("# relays\n192.0.2.1  # a comment\n\n2001:DB8::1\n")
    assert read_address_list(path) == ["192.0.2.1", "2001:db8::1"]


def test_catalog_ships_the_dated_tor_relay_list(catalog):
    relays = catalog.address_lists["tor_relays_2024-02-27.txt"]
    assert len(relays) == 8054 and TOR_RELAY in relays


def test_load_catalog_rejects_an_unknown_category(tmp_path: Path):
    raw = yaml.safe_load(CATALOG_PATH.read_text())
    raw["services"][0]["category"] = "social_media"
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ServiceCatalogError, match=r"service facebook: category 'social_media' is not one of"):
        load_catalog(path)


def write_catalog(tmp_path: Path, change) -> Path:
    raw = yaml.safe_load(CATALOG_PATH.read_text())
    change(raw)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def service(raw: dict, name: str) -> dict:
    return next(s for s in raw["services"] if s["name"] == name)


def test_load_catalog_rejects_an_as_owned_by_two_services(tmp_path: Path):
    path = write_catalog(tmp_path, lambda raw: service(raw, "instagram").update(asns=[32934]))
    with pytest.raises(ServiceCatalogError, match=r"AS 32934 is listed under asns by both facebook and instagram"):
        load_catalog(path)


def test_load_catalog_rejects_an_owned_as_the_database_name_table_lacks(tmp_path: Path):
    path = write_catalog(tmp_path, lambda raw: service(raw, "weibo").update(asns=[4808]))
    with pytest.raises(ServiceCatalogError, match=r"service weibo: AS 4808 has no entry in as_names"):
        load_catalog(path)


def test_load_catalog_rejects_one_as_name_for_two_numbers(tmp_path: Path):
    path = write_catalog(tmp_path, lambda raw: raw["as_names"].update({55967: "Beijing Baidu Netcom Science and "
                                                                                  "Technology Co., Ltd."}))
    with pytest.raises(ServiceCatalogError, match=r"as_names: AS 38365 and AS 55967 are both named"):
        load_catalog(path)
