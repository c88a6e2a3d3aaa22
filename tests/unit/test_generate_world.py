"""The generator's world agrees with the reference data later layers classify it by."""

import ipaddress

import pytest

from flowlake.generate.dumps import WORLD, local_sites, world_destinations
from flowlake.silver.catalog import load_catalog
from flowlake.silver.public_suffixes import bundled_list


@pytest.mark.parametrize("source", ["iptocc", "geoip2fast"])
def test_overseas_sites_are_in_their_country_in_both_geo_databases(source):
    from flowlake.silver.geo import _lookup

    overseas = [d for d in world_destinations() if d.kind == "overseas"]
    ips = [ip for d in overseas for ip in d.ips]
    expected = [d.name for d in overseas for _ in d.ips]
    assert _lookup(source)(ips) == expected


def test_every_world_service_is_a_catalog_service_with_its_domains_and_prefixes():
    catalog = {s["name"]: s for s in load_catalog().services()}
    for service in WORLD["services"]:
        if service["name"] == "dns":
            continue  # public resolvers are catalogued as public_dns by prefix only
        entry = catalog[service["name"]]
        assert entry["category"] == service["category"]
        assert set(service["domains"]) <= set(entry.get("domains", []))
        for prefix in service["prefixes"]:
            network = ipaddress.ip_network(prefix)
            assert any(network.subnet_of(ipaddress.ip_network(p)) for s in catalog.values()
                       for p in s.get("prefixes", []) if ipaddress.ip_network(p).version == network.version), prefix



def test_cdn_served_sites_are_their_countrys_by_registry_suffix_and_on_their_cdns_prefixes():
    suffixes = {s.suffix: s.country for s in bundled_list().suffixes}
    cdn_prefixes = {s["name"]: s["prefixes"] for s in WORLD["services"]}
    served = [c for c in WORLD["overseas"] + [WORLD["single_visit"]] if "served_by" in c]
    assert served, "the world has CDN-served local sites"
    for country in served:
        for site in local_sites(country, "overseas_cdn"):
            (domain,) = site.domains
            assert suffixes[domain.split(".", 1)[1]] == country["country"] == site.name, domain
            assert any(ipaddress.ip_address(site.ips[0]) in ipaddress.ip_network(p)
                       for p in cdn_prefixes[country["served_by"]]), domain
