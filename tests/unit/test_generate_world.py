"""The generator's world agrees with the reference data later layers classify it by, and plants
its shift on one day and its one-week outage where a change-point rule could be fooled by it."""

import ipaddress
import json
from datetime import date

import pyarrow.compute as pc
import pytest

from flowlake.config import load_config
from flowlake.generate.dumps import (FORMULA_NAME_FLOWS, FORMULA_NAMES, WORLD, DayPlan, _day_records,
                                     hosting_servers, local_sites, pdns_cof, shift_and_outage, shifted_weight,
                                     world_destinations)
from flowlake.silver.service_catalog import load_catalog
from flowlake.silver.geo import as_names
from flowlake.silver.public_suffixes import bundled_list
from tests.conftest import write_config


@pytest.mark.parametrize("source", ["iptocc", "geoip2fast"])
def test_overseas_sites_are_in_their_country_in_both_geo_databases(source):
    from flowlake.silver.geo import _lookup

    overseas = [d for d in world_destinations() if d.kind == "overseas"]
    ips = [ip for d in overseas for ip in d.ips]
    expected = [d.name for d in overseas for _ in d.ips]
    assert _lookup(source)(ips) == expected


def _in_prefixes(ip: str, prefixes: list[str]) -> bool:
    return any(ipaddress.ip_address(ip) in ipaddress.ip_network(p) for p in prefixes)


def test_every_world_service_address_is_its_catalog_service_by_prefix_or_as():
    """Each address the world draws for a service is in one of the service's catalog prefixes or
    in an AS the service owns or shares, so the world is where the real service is."""
    catalog = load_catalog()
    services = {s["name"]: s for s in catalog.services()}
    numbers = catalog.as_numbers()
    for destination in world_destinations():
        if destination.kind != "service" or destination.name == "dns":
            continue  # public resolvers are catalogued as public_dns by prefix only
        entry = services[destination.name]
        assert entry["category"] == destination.category
        assert set(destination.domains) <= set(entry.get("domains", []))
        if not entry.get("prefixes") and not entry.get("asns") and not entry.get("shared_asns"):
            continue  # known by domain and port only (vpn)
        ases = set(entry.get("asns", [])) | set(entry.get("shared_asns", []))
        for ip, name in zip(destination.ips, as_names(list(destination.ips))):
            assert _in_prefixes(ip, entry.get("prefixes", [])) or numbers.get(name) in ases, (destination.name, ip, name)


def test_hosting_servers_are_in_an_as_their_hosting_service_owns_and_outside_every_prefix():
    """The trap's addresses: only the AS rule can name them, and it must name them hosting."""
    catalog = load_catalog()
    services = {s["name"]: s for s in catalog.services()}
    all_prefixes = [p for s in catalog.services() for p in s.get("prefixes", [])]
    servers = hosting_servers()
    for (ip, service, category), name in zip(servers, as_names([s[0] for s in servers])):
        assert services[service]["category"] == category
        assert catalog.as_numbers()[name] in services[service]["asns"], (ip, name)
        assert not _in_prefixes(ip, all_prefixes), ip


def test_background_and_overseas_sites_are_in_no_hosting_as():
    """Their truth is `other` and a country's local resource; in a VPS's or cloud's AS the AS
    rule would make them hosting, which only the hosting trap plants."""
    catalog = load_catalog()
    hosting = {asn for s in catalog.services() if s["name"] in ("vps", "cloud_hosting") for asn in s["asns"]}
    sites = [ip for d in world_destinations() if d.kind in ("background", "overseas") for ip in d.ips]
    numbers = catalog.as_numbers()
    assert [(ip, name) for ip, name in zip(sites, as_names(sites)) if numbers.get(name) in hosting] == []


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


def test_the_shift_is_one_day_and_the_outage_a_week_of_a_long_window():
    # July to October 2017 (123 days): the shift on 25 August, the outage 25 to 31 July
    assert shift_and_outage(123) == (55, range(24, 31))
    # two days still show a before and an after, and have no weeks around an outage
    assert shift_and_outage(2) == (1, range(0))
    facebook = next(d for d in world_destinations() if d.name == "facebook")
    baidu = next(d for d in world_destinations() if d.name == "baidu")
    assert [shifted_weight(facebook, shifted, outage) for shifted, outage in
            ((False, False), (True, False), (False, True))] == pytest.approx([16, 1.6, 1.6])
    assert [shifted_weight(baidu, shifted, outage) for shifted, outage in
            ((False, False), (True, False), (False, True))] == pytest.approx([1, 10, 1])


def test_formula_names_are_passive_dns_names_of_zimbabwes_government_sites_a_spreadsheet_would_run(tmp_path):
    config = load_config(write_config(tmp_path))
    plan = DayPlan(date(2017, 7, 1), 0.0, 200, 5, formula_names=True)
    records, _, _ = _day_records(plan, config)
    dns = [json.loads(line) for line in pdns_cof(records, plan.day).decode().splitlines()]
    named = {r["rrname"] for r in dns if r["rrname"].removeprefix("www.").rstrip(".") in FORMULA_NAMES}
    assert named == {f"www.{name}." for name in FORMULA_NAMES}
    suffixes = {s.suffix: (s.kind, s.country) for s in bundled_list().suffixes}
    for name in FORMULA_NAMES:
        suffix = name.split(".", 1)[1]
        # One label under a government registry suffix: silver's local-site domain is the name itself.
        assert name[0] in "=+-@" and suffixes[suffix] == ("government_national", "ZW"), name
    assert len(records.filter(pc.equal(records["kind"], "formula_name"))) == len(FORMULA_NAMES) * FORMULA_NAME_FLOWS
    # Off, the day has none of them.
    plain, _, _ = _day_records(DayPlan(date(2017, 7, 1), 0.0, 200, 5), config)
    assert "formula_name" not in set(plain["kind"].to_pylist())
