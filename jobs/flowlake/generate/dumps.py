"""`flowlake generate`: synthetic raw dumps with planted ground truth, deterministic by seed.

Run: `flowlake generate --config C --start 2017-07-01 --end 2017-12-31 --flows-per-day 20000`.

Each day gets an nfdump 1.7.x CSV dump (exporter-local time, Summary trailer) from the
`flows/pyongyang/` exporter, a GoFlow2 JSON-lines dump from `flows/goflow2/` and a passive
DNS file in COF from `dns/`, all gzip-compressed, under raw_uri (file:// or s3a://). The
world they are drawn from (services, unnamed hosting, overseas countries, a single foreign
visit, miners, crypto decoys) is `world.yaml` beside this file; who talks to what changes on the
window's shift day as DOMAIN.md describes, and in long windows a one-week outage of the Western
platforms dips their share without shifting it (the trap for a change-point rule). Miners behave like miners (stratum sessions day and night, a node's many
peers); decoys touch crypto without mining (a pool's web site, one peer, a web server on a p2p
port). The ground truth,
computed from the generated records themselves, goes to `<raw_uri>/../ground_truth/`.
Days are generated in parallel worker processes, all columns at once with numpy and pyarrow.

Besides the world's traffic, each day holds the traps real networks set for a naive rule:
- a sampled border link: part of the traffic to China crosses a router that exports 1 flow
  in BORDER_SAMPLING as sFlow (in the GoFlow2 dump, nanosecond times, its sampling rate on
  every record); each record it exports stands for BORDER_SAMPLING flows of its size;
- crawlers on rented servers fetching from a monitored web server, seen only as the server's
  replies (an exporter on the uplink), which are bigger than any request;
- shared CDN addresses that passive DNS names with several unrelated sites at once (a mining
  pool, a foreign news site, a shop), which ordinary hosts reach over HTTPS;
- a port sweep: SYN probes to monitored hosts' high ports from a fixed lower source port, so
  that by ports the scanner serves; the records carry TCP flags (a lone SYN, and the RST+ACK
  of the closed port where the exporter also reports the reply), which tell who started.
The truth says what each of them is, from what was drawn, not from any rule of silver's.

Off by default, for the tests that turn them on:
- `--gzip-bomb`: a small object under the nfdump exporter's prefix that expands past
  bronze.max_decompressed_mib (a header, then zeros); the truth lists it under
  `quarantined_objects`, since bronze must quarantine it whole;
- `--formula-names`: flows to sites whose passive-DNS names start with `=`, `+`, `-` or `@`
  under Zimbabwe's government registry suffix, so silver takes each for a local site and the
  overseas report's CSV carries it, where a spreadsheet would run it as a formula unless
  neutralised; the truth lists them under `formula_names`.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import ipaddress
import json
import multiprocessing
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import yaml

from flowlake.config import Config, load_config, source_for
from flowlake.progress import Progress
from flowlake.readers.delimited import NFDUMP_V1
from flowlake.silver.service_catalog import REFERENCE_DIR, read_address_list
from flowlake.storage import parent_uri, s3_client, write_object

WORLD = yaml.safe_load((Path(__file__).with_name("world.yaml")).read_text())
NFDUMP_PREFIX, GOFLOW2_PREFIX, DNS_PREFIX = "flows/pyongyang/", "flows/goflow2/", "dns/"
GOFLOW2_SHARE = 0.3  # of each day's records; the rest are nfdump's
REPLY_SHARE = 0.05  # outbound flows that the exporter also reports in reverse
SCANNER_SHARE = 0.02  # inbound probes from scanners, on top of each day's flows
TRANSIT_SHARE = 0.01  # records between two outside addresses, which silver must drop
SERVED_KINDS = ("scanner", "crawler")  # conversations remote hosts started toward monitored ones
CRAWLER_SHARE = 0.02  # crawlers' fetches from the monitored web server, on top of each day's flows
SHARED_SHARE = 0.01  # ordinary hosts' HTTPS to shared CDN addresses, on top of each day's flows
BORDER_SHARE = 0.5  # of the flows to Chinese services, those crossing the sampled border link
BORDER_SAMPLING = 10  # the border link exports 1 flow in this many
SCANNER_PREFIX, TRANSIT_PREFIX = "193.32.160.0/24", "203.0.113.0/24"
CRAWLER_PREFIX = "104.131.0.0/16"  # a hosting provider's rented servers
# Cloudflare addresses that each serve unrelated sites at once: a mining pool, a foreign news
# site and a small shop, all named by passive DNS in the same hours.
SHARED_PREFIX, SHARED_NAMES = "104.28.0.0/16", ("supportxmr.com", "bangkokpost.com", "shop-{i}.example")
SCANNED_PORTS = np.array([22, 23, 445, 3389])
# SYN probes to monitored hosts' high ports from a fixed source port below them (masscan's way):
# by ports alone the scanner serves and the probed host seems to use it; the flags tell.
PORT_SWEEP_SHARE = 0.01
SWEEP_SOURCE_PORT, SWEPT_PORTS = 40000, (52000, 65536)  # above every catalog service port
# TCP flags as exporters report them: a whole conversation's, a probe's lone SYN, the RST+ACK
# a closed port answers it with.
FULL_CONVERSATION, SYN_ONLY, RST_ACK = 0x1b, 0x02, 0x14
LOOKALIKE_SHARE = 0.01  # flows to sites whose names end in a catalog domain's letters, not its labels
# plumbing.com is not bing.com (search), dropbox.com not x.com (western_social), olive.com not live.com.
LOOKALIKE_DOMAINS = ("plumbing.com", "dropbox.com", "olive.com")
# Names a spreadsheet runs as formulas (OWASP, "CSV Injection"), each one label, on gov.zw.
FORMULA_NAMES = ("=1+2.gov.zw", "+1+cmd|' /C calc'!A0.gov.zw", "-2+3.gov.zw", "@SUM(A1).gov.zw")
FORMULA_NAME_FLOWS = 6  # per name and day: enough for the names to be a country's evidence
TOR_RELAY_SHARE = 0.005  # flows to Tor relays on rented servers, on 443, with no DNS name
TOR_RELAY_LIST = "tor_relays_2024-02-27.txt"
RELAY_HOSTING_PREFIXES = ("88.99.0.0/16", "95.216.0.0/16", "136.243.0.0/16")  # Hetzner: the catalog's vps
HOSTS_PER_RANGE = 24
IPS_PER_PREFIX = 6
# Busy 09:00-21:00 local on weekdays (DOMAIN.md); weekends carry 60% of a weekday's flows.
HOUR_WEIGHTS = np.array([1, 1, 1, 1, 1, 1, 2, 3, 5, 9, 10, 10, 10, 10, 10, 10, 10, 10, 9, 9, 8, 6, 3, 2], float)
WEEKEND_SHARE = 0.6
DAY_MS = 86_400_000
MINER_PEERS = 40  # addresses a mining node draws its peers from
SESSION_MS = (3_600_000, 4 * 3_600_000)  # a stratum session lasts one to four hours, then reconnects


@dataclass(frozen=True)
class Destination:
    """Something internal hosts talk to: a service, a background site or an overseas local site."""

    kind: str  # service | background | overseas | overseas_cdn (served from a CDN) | single_visit
    name: str  # service name, country code or coin
    category: str
    detail: str  # local resource kind or crypto role; "" for services
    shift: str
    weight: float
    ips: tuple[str, ...]
    domains: tuple[str, ...]
    port: int
    protocol: int


def _ips(prefixes, count: int, salt: str) -> tuple[str, ...]:
    """`count` fixed addresses spread over the prefixes, the same for every seed."""
    out = []
    for i in range(count):
        network = ipaddress.ip_network(prefixes[i % len(prefixes)])
        offset = 1 + (abs(hash_stable(f"{salt}/{i}")) % (network.num_addresses - 2))
        out.append(str(network.network_address + offset))
    return tuple(out)


def hash_stable(text: str) -> int:
    # Python's hash() is salted per process; workers must agree on the world.
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def local_sites(country: dict, kind: str) -> list[Destination]:
    """A country's local news, government and university sites, on its own prefixes or its CDN's."""
    prefixes = (next(s["prefixes"] for s in WORLD["services"] if s["name"] == country["served_by"])
                if "served_by" in country else country["prefixes"])
    return [Destination(kind, country["country"], "other", site_kind, "steady",
                        country.get("weight", 0) / len(domains) / 3, _ips(prefixes, 1, domain), (domain,), 443, 6)
            for site_kind, domains in country["domains"].items() for domain in domains]


def world_destinations() -> list[Destination]:
    destinations = []
    for s in WORLD["services"]:
        destinations.append(Destination("service", s["name"], s["category"], "", s["shift"], s["weight"],
                                        _ips(s["prefixes"], IPS_PER_PREFIX, s["name"]), tuple(s["domains"]),
                                        s["port"], s.get("protocol", 6)))
    background = WORLD["background"]
    for i in range(background["sites"]):
        destinations.append(Destination("background", "background", "other", "", "steady",
                                        background["weight"] / background["sites"],
                                        _ips(background["prefixes"][i % len(background["prefixes"]):], 1, f"site{i}"),
                                        (f"site{i}-portal.com",), 443, 6))
    for c in WORLD["overseas"]:
        destinations += local_sites(c, "overseas_cdn" if "served_by" in c else "overseas")
    return destinations


def internal_hosts(config: Config) -> list[tuple[str, str]]:
    hosts = []
    for r in config.monitored_ranges:
        network = ipaddress.ip_network(r.cidrs[0])
        count = min(HOSTS_PER_RANGE, network.num_addresses - 2)
        hosts += [(r.name, str(network.network_address + 10 + i)) for i in range(count)
                  if 10 + i < network.num_addresses - 1]
    return hosts


def miners(config: Config) -> list[dict]:
    """The planted miners, the last two hosts: Bitcoin's runs a node that mines on its own (p2p
    to many peers) all along; Monero's mines with a pool (`method`) and starts two thirds in."""
    hosts = internal_hosts(config)
    plans = []
    for offset, coin, start_at, method in ((1, "bitcoin", 0.0, "p2p"), (2, "monero", 2 / 3, "pool")):
        range_name, ip = hosts[-offset] if len(hosts) >= offset else hosts[0]
        spec = WORLD["crypto"][coin]
        plans.append({"range_name": range_name, "internal_ip": ip, "coin": coin, "starts_at": start_at,
                      "method": method, "peers": list(_ips(spec["peer_prefixes"], MINER_PEERS, f"{coin}-peer")),
                      "pools": list(_ips(spec["pool_prefixes"], 2, f"{coin}-pool")),
                      "pool_domain": spec["pool_domains"][0], "p2p_port": spec["p2p_port"],
                      "pool_port": spec["pool_port"]})
    return plans


def pool_web_sites() -> list[tuple[str, str, str]]:
    """(coin, pool domain, its web site's address): www.<domain>, apart from the stratum hosts."""
    return [(coin, domain, _ips(spec["pool_prefixes"], 1, f"www.{domain}")[0])
            for coin, spec in WORLD["crypto"].items() for domain in spec["pool_domains"]]


def shifted_weight(d: Destination, shifted: bool, outage: bool) -> float:
    """A destination's weight on a day before or after the shift day, in the outage or not."""
    weight = d.weight
    if d.shift == "falls":
        weight *= 0.1 if shifted else 1.0
    elif d.shift == "rises":
        weight *= 1.0 if shifted else 0.1
    if outage and d.shift == WORLD["outage"]["shift"]:
        weight *= WORLD["outage"]["weight"]
    return weight


def _human_times(rng, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Start (ms into the UTC day) and duration (ms) of k flows people start: busy hours, short flows."""
    hour = rng.choice(24, size=k, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    start_ms = (hour * 3600 + rng.integers(0, 3600, size=k)) * 1000 + rng.integers(0, 1000, size=k)
    return start_ms, rng.integers(10, 120_000, size=k)


def _records(rng, times: tuple[np.ndarray, np.ndarray], *, src_ip, range_name, dst_ip, dst_port, kind, name,
             category, detail="", domain="", protocol=6, src_port=None, tcp_flags=FULL_CONVERSATION) -> dict:
    """A block of records, one per start time; a scalar column is the same for every record,
    source ports are ephemeral ones unless given, and TCP records carry a whole conversation's
    flags unless given (other protocols none)."""
    start_ms, duration_ms = times
    k = len(start_ms)

    def column(value):
        return value if isinstance(value, np.ndarray) else np.full(k, value, dtype=object if isinstance(value, str) else None)

    return {"src_ip": column(src_ip), "range_name": column(range_name), "dst_ip": column(dst_ip),
            "src_port": rng.integers(32768, 61000, size=k) if src_port is None else column(src_port),
            "dst_port": column(dst_port),
            "protocol": column(protocol), "tcp_flags": np.where(column(protocol) == 6, tcp_flags, 0),
            "kind": column(kind), "name": column(name), "category": column(category),
            "detail": column(detail), "domain": column(domain), "start_ms": np.asarray(start_ms, dtype=np.int64),
            "duration_ms": np.asarray(duration_ms, dtype=np.int64)}


def _probe_records(rng, hosts: list[tuple[str, str]], k: int, **probe) -> dict:
    """`k` inbound probes from outside scanners to random monitored hosts."""
    scanners = np.array(_ips([SCANNER_PREFIX], 16, "scanner"), dtype=object)
    host_index = rng.integers(0, len(hosts), size=k)
    return _records(rng, _human_times(rng, k), src_ip=scanners[rng.integers(0, len(scanners), size=k)],
                    range_name=np.array([h[0] for h in hosts], dtype=object)[host_index],
                    dst_ip=np.array([h[1] for h in hosts], dtype=object)[host_index],
                    kind="scanner", name="scanner", category="other", **probe)


def _scanner_records(rng, hosts: list[tuple[str, str]], n: int) -> dict:
    """Inbound probes: outside scanners to internal hosts' remote-access ports."""
    k = int(n * SCANNER_SHARE)
    return _probe_records(rng, hosts, k, dst_port=SCANNED_PORTS[rng.integers(0, 4, size=k)])


def _port_sweep_records(rng, hosts: list[tuple[str, str]], n: int) -> dict:
    """Inbound SYN probes to internal hosts' high ports from a lower source port (PORT_SWEEP_SHARE)."""
    k = int(n * PORT_SWEEP_SHARE)
    return _probe_records(rng, hosts, k, src_port=SWEEP_SOURCE_PORT, dst_port=rng.integers(*SWEPT_PORTS, size=k),
                          tcp_flags=SYN_ONLY)


def _crawler_records(rng, hosts: list[tuple[str, str]], n: int) -> dict:
    """A monitored host's web server answering crawlers, as the server's reply records only.

    An exporter on the uplink sees the replies, which are bigger than the requests: a rule
    that takes the bigger record's source as the initiator calls them the host's own use of
    rented servers (anonymity)."""
    k = int(n * CRAWLER_SHARE)
    crawlers = np.array(_ips([CRAWLER_PREFIX], 8, "crawler"), dtype=object)
    range_name, server = hosts[0]
    return _records(rng, _human_times(rng, k), src_ip=server, range_name=range_name,
                    dst_ip=crawlers[rng.integers(0, len(crawlers), size=k)], src_port=443,
                    dst_port=rng.integers(32768, 61000, size=k), kind="crawler", name="crawler", category="served")


def shared_addresses() -> list[tuple[str, tuple[str, ...]]]:
    """(address, the names passive DNS gives it) for the shared CDN addresses."""
    return [(ip, tuple(name.format(i=i) for name in SHARED_NAMES))
            for i, ip in enumerate(_ips([SHARED_PREFIX], 3, "shared"))]


def _shared_records(rng, hosts: list[tuple[str, str]], n: int) -> dict:
    """Ordinary hosts' HTTPS to shared CDN addresses: no name can say which site they used."""
    k = int(n * SHARED_SHARE)
    addresses = np.array([ip for ip, _ in shared_addresses()], dtype=object)
    range_name, src_ip = _ordinary_hosts(rng, hosts, k)
    return _records(rng, _human_times(rng, k), src_ip=src_ip, range_name=range_name,
                    dst_ip=addresses[rng.integers(0, len(addresses), size=k)], dst_port=443, kind="shared",
                    name="cloudflare", category="other")


def _border_link(rng, columns: dict) -> dict:
    """`columns` with `link` and `weight`: part of the traffic to China crosses the sampled border
    link, which exports one flow in BORDER_SAMPLING, each exported record standing for that many."""
    crosses = (columns["category"] == "chinese_services") & (rng.random(len(columns["category"])) < BORDER_SHARE)
    kept = ~crosses | (rng.random(len(crosses)) < 1 / BORDER_SAMPLING)
    columns = {key: values[kept] for key, values in columns.items()}
    crosses = crosses[kept]
    return {**columns, "link": np.where(crosses, "border", "").astype(object),
            "weight": np.where(crosses, BORDER_SAMPLING, 1)}


def hosting_servers() -> list[tuple[str, str, str]]:
    """(address, service, category) of the unnamed rented servers and cloud customer boxes."""
    return [(ip, server["name"], server["category"]) for server in WORLD["hosting"]["servers"]
            for ip in _ips(server["prefixes"], IPS_PER_PREFIX, f"hosting-{server['name']}")]


def _hosting_records(rng, hosts: list[tuple[str, str]], n: int) -> dict:
    """Outbound flows to cloud customer boxes and VPSs that passive DNS never names: hosting, not
    the consumer service of the provider's other ASes (Alibaba Cloud's box is not alibaba)."""
    k = int(n * WORLD["hosting"]["share"])
    servers = hosting_servers()
    server_index = rng.integers(0, len(servers), size=k)
    range_name, src_ip = _ordinary_hosts(rng, hosts, k)
    return _records(rng, _human_times(rng, k), src_ip=src_ip, range_name=range_name,
                    dst_ip=np.array([s[0] for s in servers], dtype=object)[server_index], dst_port=443,
                    kind="hosting", name=np.array([s[1] for s in servers], dtype=object)[server_index],
                    category=np.array([s[2] for s in servers], dtype=object)[server_index])


def _lookalike_records(rng, hosts: list[tuple[str, str]], n: int) -> dict:
    """Web sites whose names end like a catalog domain (plumbing.com, bing.com): a rule that
    matched the end of the text instead of whole labels would call them search or social."""
    k = int(n * LOOKALIKE_SHARE)
    sites = [(domain, _ips(WORLD["background"]["prefixes"], 1, f"lookalike-{domain}")[0]) for domain in LOOKALIKE_DOMAINS]
    site_index = rng.integers(0, len(sites), size=k)
    range_name, src_ip = _ordinary_hosts(rng, hosts, k)
    return _records(rng, _human_times(rng, k), src_ip=src_ip, range_name=range_name,
                    dst_ip=np.array([ip for _, ip in sites], dtype=object)[site_index], dst_port=443,
                    kind="background", name="background", category="other",
                    domain=np.array([d for d, _ in sites], dtype=object)[site_index])


def _formula_name_records(rng, hosts: list[tuple[str, str]]) -> dict:
    """Ordinary hosts' HTTPS to sites named by FORMULA_NAMES (on --formula-names)."""
    sites = [(name, _ips(WORLD["background"]["prefixes"], 1, f"formula-{name}")[0]) for name in FORMULA_NAMES]
    site = np.arange(len(sites) * FORMULA_NAME_FLOWS) % len(sites)
    range_name, src_ip = _ordinary_hosts(rng, hosts, len(site))
    return _records(rng, _human_times(rng, len(site)), src_ip=src_ip, range_name=range_name,
                    dst_ip=np.array([ip for _, ip in sites], dtype=object)[site], dst_port=443,
                    kind="formula_name", name="ZW", category="other", detail="government_national",
                    domain=np.array([name for name, _ in sites], dtype=object)[site])


def tor_relays_on_rented_servers() -> list[str]:
    """Relays of the shipped relay list inside the hosting blocks the catalog calls vps."""
    blocks = [ipaddress.ip_network(cidr) for cidr in RELAY_HOSTING_PREFIXES]
    relays = read_address_list(REFERENCE_DIR / TOR_RELAY_LIST)
    return sorted(a for a in relays if any(ipaddress.ip_address(a) in block for block in blocks))[:8]


def _tor_relay_records(rng, hosts: list[tuple[str, str]], n: int) -> dict:
    """Tor without its port or name: a client's guard is a relay on a rented server, often on
    ORPort 443, reached by address alone; the hosting block says vps, only the relay list says tor."""
    k = int(n * TOR_RELAY_SHARE)
    relays = np.array(tor_relays_on_rented_servers(), dtype=object)
    range_name, src_ip = _ordinary_hosts(rng, hosts, k)
    return _records(rng, _human_times(rng, k), src_ip=src_ip, range_name=range_name,
                    dst_ip=relays[rng.integers(0, len(relays), size=k)], dst_port=443, kind="service", name="tor",
                    category="anonymity")


def _single_visit_records(rng, hosts: list[tuple[str, str]], n: int) -> dict:
    """One host's single sitting on a foreign country's local sites: every site at least once.

    The trap for a presence rule that counts domains and volume but not days and hosts.
    """
    spec = WORLD["single_visit"]
    sites = local_sites(spec, "single_visit")
    k = max(len(sites), int(n * spec["share"]))
    site = np.arange(k) % len(sites)
    range_name, host = hosts[0]
    return _records(rng, _human_times(rng, k), src_ip=host, range_name=range_name,
                    dst_ip=np.array([s.ips[0] for s in sites], dtype=object)[site], dst_port=443,
                    kind="single_visit", name=spec["country"], category="other",
                    detail=np.array([s.detail for s in sites], dtype=object)[site],
                    domain=np.array([s.domains[0] for s in sites], dtype=object)[site])


def _transit_records(rng, ip_table, n: int) -> dict:
    """Records between two outside addresses (an exporter sees more than the monitored ranges)."""
    k = int(n * TRANSIT_SHARE)
    sources = np.array(_ips([TRANSIT_PREFIX], 16, "transit"), dtype=object)
    return _records(rng, _human_times(rng, k), src_ip=sources[rng.integers(0, len(sources), size=k)], range_name="",
                    dst_ip=ip_table.ravel()[rng.integers(0, ip_table.size, size=k)], dst_port=443, kind="transit",
                    name="transit", category="other")


def _pool_miner_records(rng, plan: dict) -> dict:
    """A miner on a pool: stratum sessions of one to four hours back to back through the day
    and the night, each to one of its pools, a reconnect of up to five minutes between them."""
    starts, ends = [], []
    start = int(rng.integers(0, 300_000))
    while start < DAY_MS:
        end = min(start + int(rng.integers(*SESSION_MS)), DAY_MS - 1)
        starts.append(start)
        ends.append(end)
        start = end + int(rng.integers(1_000, 300_000))
    pools = np.array(plan["pools"], dtype=object)[rng.integers(0, len(plan["pools"]), size=len(starts))]
    return _records(rng, (np.array(starts), np.array(ends) - np.array(starts)), src_ip=plan["internal_ip"],
                    range_name=plan["range_name"], dst_ip=pools, dst_port=plan["pool_port"], kind="crypto",
                    name=plan["coin"], category="crypto", detail="pool", domain=plan["pool_domain"])


def _p2p_miner_records(rng, plan: dict) -> dict:
    """A miner running the coin's node: 10 to 16 distinct peers a day (a node keeps 8 or more
    connections and rotates them), each reached one to six times at any hour."""
    chosen = rng.choice(len(plan["peers"]), size=int(rng.integers(10, 17)), replace=False)
    peers = np.repeat(np.array(plan["peers"], dtype=object)[chosen], rng.integers(1, 7, size=len(chosen)))
    k = len(peers)
    times = (rng.integers(0, DAY_MS - 3_600_000, size=k), rng.integers(60_000, 3_600_000, size=k))
    return _records(rng, times, src_ip=plan["internal_ip"], range_name=plan["range_name"], dst_ip=peers,
                    dst_port=plan["p2p_port"], kind="crypto", name=plan["coin"], category="crypto", detail="p2p")


def _ordinary_hosts(rng, hosts: list[tuple[str, str]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """(range names, addresses) of k hosts drawn from those that never mine (all but the last two)."""
    index = rng.integers(0, len(hosts) - 2, size=k)
    return (np.array([h[0] for h in hosts], dtype=object)[index], np.array([h[1] for h in hosts], dtype=object)[index])


def _pool_site_decoy_records(rng, hosts: list[tuple[str, str]]) -> dict:
    """Decoy: one to three people a day browse a pool's web site (www.<pool domain> on 443) for
    two to five short flows within ten minutes. 443 is no stratum port: a contact, not mining."""
    sites = pool_web_sites()
    visitors = int(rng.integers(1, 4))
    flows = rng.integers(2, 6, size=visitors)
    site = np.repeat(rng.integers(0, len(sites), size=visitors), flows)
    range_name, ip = (np.repeat(column, flows) for column in _ordinary_hosts(rng, hosts, visitors))
    visit_start, _ = _human_times(rng, visitors)
    start_ms = np.repeat(visit_start, flows) + rng.integers(0, 600_000, size=len(site))
    # A late visit stays in its day, and before 23:59:59, where the day's passive DNS ends.
    return _records(rng, (np.minimum(start_ms, DAY_MS - 60_000), rng.integers(5_000, 180_000, size=len(site))),
                    src_ip=ip, range_name=range_name,
                    dst_ip=np.array([sites[i][2] for i in site], dtype=object), dst_port=443, kind="crypto",
                    name=np.array([sites[i][0] for i in site], dtype=object), category="crypto",
                    detail="pool_web", domain=np.array([sites[i][1] for i in site], dtype=object))


def _one_off_peer_decoy_records(rng, hosts: list[tuple[str, str]]) -> dict:
    """Decoy: on about half the days one host makes one or two flows to a single peer on the
    coin's p2p port (a wallet's check, a misdirected connection): one peer is no node."""
    spec = WORLD["decoys"]["one_off_peer"]
    coin = WORLD["crypto"][spec["coin"]]
    k = int(rng.integers(1, 3)) if rng.random() < 0.5 else 0
    range_name, ip = _ordinary_hosts(rng, hosts, 1)
    peer = _ips(coin["peer_prefixes"], spec["addresses"], "one-off-peer")[int(rng.integers(0, spec["addresses"]))]
    return _records(rng, _human_times(rng, k), src_ip=ip[0], range_name=range_name[0], dst_ip=peer,
                    dst_port=coin["p2p_port"], kind="crypto", name=spec["coin"], category="crypto", detail="p2p")


def _dev_server_decoy_records(rng, hosts: list[tuple[str, str]]) -> dict:
    """Decoy: a developer's host (the second host; the first serves crawlers) uses a web server
    that listens on Monero's p2p port, five to thirty flows a day, all to that one remote
    address: one address is no node."""
    spec = WORLD["decoys"]["dev_server"]
    range_name, ip = hosts[1]
    k = int(rng.integers(5, 31))
    return _records(rng, _human_times(rng, k), src_ip=ip, range_name=range_name,
                    dst_ip=_ips([spec["prefix"]], 1, "dev-server")[0], dst_port=WORLD["crypto"][spec["coin"]]["p2p_port"],
                    kind="crypto", name=spec["coin"], category="crypto", detail="p2p")


def crypto_facts(block: dict) -> list[dict]:
    """Per internal host, coin and role (`kind`) of a block of crypto records: flows and the
    sorted remote addresses, as drawn."""
    facts: dict = {}
    for ip, coin, kind, remote in zip(block["src_ip"], block["name"], block["detail"], block["dst_ip"]):
        fact = facts.setdefault((ip, coin, kind), {"internal_ip": ip, "coin": coin, "kind": kind, "flows": 0,
                                                   "remote_ips": set()})
        fact["flows"] += 1
        fact["remote_ips"].add(remote)
    return [{**f, "remote_ips": sorted(f["remote_ips"])} for f in facts.values()]


@dataclass(frozen=True)
class DayPlan:
    day: date
    progress: float  # 0 at the window's first day, 1 at its last
    flows: int
    seed: int
    single_visit: bool = False  # the day of the window's one foreign single visit
    shifted: bool = False  # on or after the window's shift day
    outage: bool = False  # in the week the Western platforms were unreachable
    formula_names: bool = False  # with flows to the FORMULA_NAMES sites (--formula-names)


def _day_records(plan: DayPlan, config: Config) -> tuple[pa.Table, list[dict], list[dict]]:
    """One day's flow records (UTC), with what each one is, for the ground truth."""
    rng = np.random.default_rng(plan.seed)
    destinations = world_destinations()
    hosts = internal_hosts(config)
    weekend = plan.day.weekday() >= 5
    n = int(plan.flows * (WEEKEND_SHARE if weekend else 1.0))
    weights = np.array([shifted_weight(d, plan.shifted, plan.outage) for d in destinations])
    choice = rng.choice(len(destinations), size=n, p=weights / weights.sum())
    # Each destination's addresses, cycled to a fixed width so one fancy index picks them all.
    ip_table = np.array([[d.ips[j % len(d.ips)] for j in range(IPS_PER_PREFIX)] for d in destinations], dtype=object)
    dst_ip = ip_table[choice, rng.integers(0, IPS_PER_PREFIX, size=n)]
    range_name, src_ip = _ordinary_hosts(rng, hosts, n)
    blocks = [_records(rng, _human_times(rng, n), src_ip=src_ip, range_name=range_name, dst_ip=dst_ip,
                       dst_port=np.array([d.port for d in destinations])[choice],
                       protocol=np.array([d.protocol for d in destinations])[choice],
                       kind=np.array([d.kind for d in destinations], dtype=object)[choice],
                       name=np.array([d.name for d in destinations], dtype=object)[choice],
                       category=np.array([d.category for d in destinations], dtype=object)[choice],
                       detail=np.array([d.detail for d in destinations], dtype=object)[choice],
                       domain=np.array([d.domains[0] if d.domains else "" for d in destinations], dtype=object)[choice]),
              _scanner_records(rng, hosts, n), _port_sweep_records(rng, hosts, n), _transit_records(rng, ip_table, n),
              _crawler_records(rng, hosts, n), _shared_records(rng, hosts, n), _hosting_records(rng, hosts, n),
              _lookalike_records(rng, hosts, n), _tor_relay_records(rng, hosts, n)]
    if plan.single_visit:
        blocks.append(_single_visit_records(rng, hosts, n))
    if plan.formula_names:
        blocks.append(_formula_name_records(rng, hosts))
    mining = []
    for plan_m in miners(config):
        if plan.progress < plan_m["starts_at"]:
            continue
        block = (_pool_miner_records if plan_m["method"] == "pool" else _p2p_miner_records)(rng, plan_m)
        blocks.append(block)
        roles = {f["kind"]: f for f in crypto_facts(block)}
        mining.append({"internal_ip": plan_m["internal_ip"], "coin": plan_m["coin"], "method": plan_m["method"],
                       "flows": len(block["src_ip"]), "pool_flows": roles.get("pool", {}).get("flows", 0),
                       "pools": roles.get("pool", {}).get("remote_ips", []),
                       "peers": roles.get("p2p", {}).get("remote_ips", [])})
    decoys = [decoy(rng, hosts) for decoy in (_pool_site_decoy_records, _one_off_peer_decoy_records,
                                              _dev_server_decoy_records)]
    contacts = [fact for block in decoys for fact in crypto_facts(block)]
    columns = _border_link(rng, {key: np.concatenate([block[key] for block in blocks + decoys]) for key in blocks[0]})
    start_ms, duration_ms = columns.pop("start_ms"), columns.pop("duration_ms")
    day_start = datetime.combine(plan.day, time(), tzinfo=timezone.utc)
    ts = np.datetime64(day_start.replace(tzinfo=None), "ms") + start_ms.astype("timedelta64[ms]")
    # Video, games and a web server's answers to crawlers move the most bytes.
    is_bulk = np.isin(columns["category"], ["streaming", "gaming", "served"])
    size = rng.lognormal(mean=np.where(is_bulk, 12.0, 9.0), sigma=1.0).astype(np.int64) + 60
    columns.update(ts=ts, ts_end=ts + duration_ms.astype("timedelta64[ms]"), bytes=size,
                   packets=size // 900 + 1)
    return pa.table(columns), mining, contacts


def _local_time_text(ts: pa.Array, zone: str, day: date) -> pa.Array:
    """nfdump's exporter-local 'YYYY-MM-DD hh:mm:ss.fff' for UTC instants of one day."""
    offset = ZoneInfo(zone).utcoffset(datetime.combine(day, time(12)))
    local = pc.add(ts, pa.scalar(int(offset.total_seconds() * 1000), pa.duration("ms")))
    return pc.strftime(local, format="%Y-%m-%d %H:%M:%S")  # %S carries .fff for ms timestamps


def _nfdump_flags(bits: pa.ChunkedArray) -> pa.Array:
    """nfdump 1.6's six flag letters, a dot for each flag not set (`.AP.SF`)."""
    values = pc.unique(bits)
    letters = pa.array(["".join(letter if value & bit else "." for letter, bit in zip("UAPRSF", (32, 16, 8, 4, 2, 1)))
                        for value in values.to_pylist()])
    return pc.take(letters, pc.index_in(bits, values))


def nfdump_csv(records: pa.Table, zone: str, day: date) -> bytes:
    n = records.num_rows
    zero = pa.array(["0"] * n)
    by_name = {
        "ts": _local_time_text(records["ts"], zone, day), "te": _local_time_text(records["ts_end"], zone, day),
        "td": pc.cast(pc.divide(pc.cast(pc.subtract(records["ts_end"], records["ts"]), pa.int64()), 1000.0), pa.string()),
        "sa": records["src_ip"], "da": records["dst_ip"], "sp": pc.cast(records["src_port"], pa.string()),
        "dp": pc.cast(records["dst_port"], pa.string()),
        "pr": pc.if_else(pc.equal(records["protocol"], 6), "TCP", "UDP"), "flg": _nfdump_flags(records["tcp_flags"]),
        "ipkt": pc.cast(records["packets"], pa.string()), "ibyt": pc.cast(records["bytes"], pa.string()),
    }
    table = pa.table({col: by_name.get(col, zero) for col in NFDUMP_V1.header})
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(table, sink, write_options=pa_csv.WriteOptions(quoting_style="none"))
    body = sink.getvalue().to_pybytes().replace(b'"', b"")
    total_bytes, total_packets = pc.sum(records["bytes"]).as_py() or 0, pc.sum(records["packets"]).as_py() or 0
    trailer = (f"Summary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n"
               f"{n},{total_bytes},{total_packets},0,0,{total_bytes // max(total_packets, 1)}\n")
    return body + trailer.encode()


def _nanosecond_stamps(rng, n: int) -> np.ndarray:
    """Nanoseconds below the millisecond for each GoFlow2 record: GoFlow2 stamps flows with
    its receive clock to the nanosecond (1499990400123456789), finer than the tables keep.
    Below the millisecond, so the truth (drawn in milliseconds) is unchanged by them."""
    return rng.integers(0, 1_000_000, size=n)


def goflow2_json(records: pa.Table, sub_ms_nanos: np.ndarray) -> bytes:
    """GoFlow2's JSON lines: IPFIX from the core router, sFlow from the sampled border link.

    sFlow records carry the collector's receive time as both start and end, and the link's
    sampling rate; IPFIX ones the flow's own times and rate 0 (not said).
    """
    border = pc.equal(records["link"], "border")
    ns = lambda col: pc.add(pc.multiply(pc.cast(records[col], pa.int64()), 1_000_000), pa.array(sub_ms_nanos))
    received = ns("ts")
    table = pa.table({
        "type": pc.if_else(border, "SFLOW_5", "IPFIX"),
        "sampling_rate": pc.if_else(border, BORDER_SAMPLING, 0),
        "sampler_address": pc.if_else(border, "192.0.2.20", "192.0.2.10"),
        "time_received_ns": pc.if_else(border, received, ns("ts_end")),
        "time_flow_start_ns": received, "time_flow_end_ns": pc.if_else(border, received, ns("ts_end")),
        "bytes": records["bytes"], "packets": records["packets"],
        "src_addr": records["src_ip"], "dst_addr": records["dst_ip"], "etype": pa.array(["IPv4"] * records.num_rows),
        "proto": pc.if_else(pc.equal(records["protocol"], 6), "TCP", "UDP"),
        "src_port": records["src_port"], "dst_port": records["dst_port"], "tcp_flags": records["tcp_flags"],
    })
    # pyarrow has no JSON writer: one json.dumps per row.
    rows = zip(*(table[c].to_pylist() for c in table.column_names))
    names = table.column_names
    return "".join(json.dumps(dict(zip(names, row)), separators=(",", ":")) + "\n" for row in rows).encode()


def pdns_cof(records: pa.Table, day: date) -> bytes:
    pairs = records.select(["domain", "dst_ip"]).filter(pc.not_equal(records["domain"], "")).group_by(
        ["domain", "dst_ip"]).aggregate([([], "count_all")])
    named = list(zip(*(pairs[k].to_pylist() for k in ("domain", "dst_ip", "count_all"))))
    named += [(name, ip, 1) for ip, names in shared_addresses() for name in names]
    first = int(datetime.combine(day, time(), tzinfo=timezone.utc).timestamp())
    lines = [json.dumps({"rrname": f"www.{d}.", "rrtype": "A", "rdata": ip, "time_first": first,
                         "time_last": first + 86399, "count": c}) for d, ip, c in named]
    return ("\n".join(sorted(lines)) + "\n").encode()


def _write_day(args) -> dict:
    plan, config = args
    records, mining, contacts = _day_records(plan, config)
    # The border link's sFlow reaches the same GoFlow2 collector as the core router's IPFIX.
    goflow = ((np.random.default_rng(plan.seed + 1).random(records.num_rows) < GOFLOW2_SHARE)
              | (records["link"].to_numpy(zero_copy_only=False) == "border"))
    replies = np.random.default_rng(plan.seed + 2).random(records.num_rows) < REPLY_SHARE
    nfdump_part = records.filter(pa.array(~goflow))
    reversed_part = nfdump_part.filter(pa.array(replies[~goflow])).rename_columns(
        [{"src_ip": "dst_ip", "dst_ip": "src_ip", "src_port": "dst_port", "dst_port": "src_port"}.get(c, c)
         for c in records.column_names]).select(records.column_names)
    # A closed port answers a probe's SYN with RST+ACK; a conversation's reply has its flags.
    answered = pc.if_else(pc.equal(reversed_part["tcp_flags"], SYN_ONLY), RST_ACK, reversed_part["tcp_flags"])
    reversed_part = reversed_part.set_column(reversed_part.schema.get_field_index("tcp_flags"), "tcp_flags", answered)
    nfdump_records = pa.concat_tables([nfdump_part, reversed_part])
    zone = source_for(config.sources, NFDUMP_PREFIX).timezone
    client = s3_client(config.s3) if config.raw_uri.startswith("s3a://") else None
    stamp = plan.day.isoformat()
    objects = {
        f"{NFDUMP_PREFIX}{stamp}.csv.gz": nfdump_csv(nfdump_records, zone, plan.day),
        f"{GOFLOW2_PREFIX}{stamp}.json.gz": goflow2_json(
            records.filter(pa.array(goflow)), _nanosecond_stamps(np.random.default_rng(plan.seed + 3), int(goflow.sum()))),
        f"{DNS_PREFIX}{stamp}.json.gz": pdns_cof(records, plan.day),
    }
    for key, body in objects.items():
        write_object(f"{config.raw_uri}/{key}", gzip.compress(body, compresslevel=1), config.s3, client)
    monitored = pc.not_equal(records["kind"], "transit")
    estimated = records.append_column("estimated_bytes", pc.multiply(records["bytes"], records["weight"]))
    truth = estimated.filter(monitored).group_by(["range_name", "kind", "name", "category", "detail", "link"]).aggregate(
        [("estimated_bytes", "sum"), ("weight", "sum"), ([], "count_all")])
    transit_replies = pc.sum(pc.equal(reversed_part["kind"], "transit")).as_py() or 0
    transit = pc.sum(pc.invert(monitored)).as_py() or 0
    return {"day": stamp, "flows": records.num_rows - transit, "records": nfdump_records.num_rows + int(goflow.sum()),
            "replies": reversed_part.num_rows - transit_replies, "unmonitored": transit + transit_replies,
            "nfdump_records": nfdump_records.num_rows,
            "goflow2_records": int(goflow.sum()), "groups": truth.to_pylist(), "mining": mining,
            "contacts": contacts}


def ground_truth(days: list[dict], config: Config, seed: int) -> dict:
    """What later layers must recover, summed from the per-day records."""
    monthly: dict = {}
    served: dict = {}
    local_flows: dict = {"present": {}, "single_visit": {}}
    cdn_served: dict = {}
    coverage = {"estimated_bytes": 0, "ambiguous_bytes": 0}
    tor_flows = 0
    for d in days:
        month = d["day"][:7]
        for g in d["groups"]:
            if (g["kind"], g["name"]) == ("service", "tor"):
                tor_flows += g["weight_sum"]
            # Scanners and crawlers started their conversations: served, not the hosts' own use.
            if g["kind"] in SERVED_KINDS:
                cell = served.setdefault(g["range_name"], {"flows": 0, "bytes": 0})
            else:
                cell = monthly.setdefault(g["range_name"], {}).setdefault(month, {}).setdefault(
                    g["category"], {"flows": 0, "bytes": 0})
            cell["flows"] += g["weight_sum"]
            cell["bytes"] += g["estimated_bytes_sum"]
            coverage["estimated_bytes"] += g["estimated_bytes_sum"] if g["link"] == "border" else 0
            coverage["ambiguous_bytes"] += g["estimated_bytes_sum"] if g["kind"] == "shared" else 0
            if g["kind"] in ("overseas", "overseas_cdn", "single_visit"):
                drawn = local_flows["single_visit" if g["kind"] == "single_visit" else "present"]
                drawn.setdefault(g["name"], {}).setdefault(g["detail"], 0)
                drawn[g["name"]][g["detail"]] += g["count_all"]
            visit_by_cdn = g["kind"] == "single_visit" and "served_by" in WORLD["single_visit"]
            if g["kind"] == "overseas_cdn" or visit_by_cdn:
                cdn_served[g["name"]] = cdn_served.get(g["name"], 0) + g["count_all"]
    crossover = {}
    for range_name, months in monthly.items():
        for month in sorted(months):
            cats = months[month]
            if cats.get("chinese_services", {}).get("bytes", 0) > cats.get("western_social", {}).get("bytes", 0):
                crossover[range_name] = month
                break
    miners_truth, contacts_truth = {}, {}
    for d in days:
        for m in d["mining"]:
            entry = miners_truth.setdefault((m["internal_ip"], m["coin"]),
                                            {"internal_ip": m["internal_ip"], "coin": m["coin"], "method": m["method"],
                                             "first_day": d["day"], "days": 0, "flows": 0, "pool_flows": 0,
                                             "pools": set(), "peers": set()})
            entry["days"] += 1
            entry["flows"] += m["flows"]
            entry["pool_flows"] += m["pool_flows"]
            entry["pools"].update(m["pools"])
            entry["peers"].update(m["peers"])
            entry["last_day"] = d["day"]
        for c in d["contacts"]:
            entry = contacts_truth.setdefault((c["internal_ip"], c["coin"], c["kind"]),
                                              {"internal_ip": c["internal_ip"], "coin": c["coin"], "kind": c["kind"],
                                               "flows": 0, "remote_ips": set()})
            entry["flows"] += c["flows"]
            entry["remote_ips"].update(c["remote_ips"])
    return {
        "seed": seed, "start": days[0]["day"], "end": days[-1]["day"],
        "flows": sum(d["flows"] for d in days), "records": sum(d["records"] for d in days),
        "reply_duplicates": sum(d["replies"] for d in days),
        "unmonitored_records": sum(d["unmonitored"] for d in days),
        "records_by_format": {"nfdump_csv": sum(d["nfdump_records"] for d in days),
                              "goflow2_json": sum(d["goflow2_records"] for d in days)},
        "flows_by_day": {d["day"]: d["flows"] for d in days},
        # What gold's usage counts: the flows the monitored hosts started, sampled ones scaled.
        "usage_flows_by_day": {d["day"]: sum(g["weight_sum"] for g in d["groups"] if g["kind"] not in SERVED_KINDS)
                               for d in days},
        "records_by_day": {d["day"]: d["records"] for d in days},
        "monthly_by_range_and_category": monthly,
        "served_by_range": served,
        "coverage": coverage,
        "crossover_month": crossover,
        "tor_flows": tor_flows,
        # Local-site flows per country and kind: of the countries where the users are present
        # (sites used by many hosts on many days), and of the single visit's country.
        "overseas_countries": dict(sorted(local_flows["present"].items())),
        "single_visits": dict(sorted(local_flows["single_visit"].items())),
        # Local-site flows served from a CDN's addresses (remote_country is the CDN's).
        "cdn_served_local_flows": dict(sorted(cdn_served.items())),
        "miners": [{**m, "pools": sorted(m["pools"]), "peers": sorted(m["peers"])} for m in miners_truth.values()],
        # Hosts whose flows touch crypto without mining (the decoys), per host, coin and kind.
        "crypto_contacts": [{**c, "remote_ips": sorted(c["remote_ips"])} for c in contacts_truth.values()],
    }


def write_gzip_bomb(config: Config, key: str) -> int:
    """Write to `key` below raw_uri a gzip of an nfdump header and then zeros, 1 MiB past
    bronze.max_decompressed_mib once decompressed; returns its compressed size. Compressed a
    MiB at a time, so the generator never holds what it expands to."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, 31)
    header = (",".join(NFDUMP_V1.header) + "\n").encode()
    parts, zeros = [deflater.compress(header)], bytes(2**20)
    for _ in range(int(config.bronze.max_decompressed_mib) + 1):
        parts.append(deflater.compress(zeros))
    body = b"".join(parts) + deflater.flush()
    write_object(f"{config.raw_uri}/{key}", body, config.s3)
    return len(body)


def shift_and_outage(days: int) -> tuple[int, range]:
    """The index of the window's shift day (never its first, so even two days show a before and
    after) and the indexes of its outage week (none in a window too short to show it as a dip)."""
    outage = WORLD["outage"]
    first = round(outage["at"] * (days - 1))
    return (max(1, round(WORLD["shift_at"] * (days - 1))),
            range(first, first + outage["days"]) if days >= outage["min_window_days"] else range(0))


def generate(config: Config, start: date, end: date, flows_per_day: int, seed: int, progress: Progress,
             gzip_bomb: bool = False, formula_names: bool = False) -> dict:
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    shift_index, outage = shift_and_outage(len(days))
    plans = [DayPlan(day, i / max(len(days) - 1, 1), flows_per_day, seed * 100_003 + i, i == len(days) // 2,
                     i >= shift_index, i in outage, formula_names)
             for i, day in enumerate(days)]
    with progress.stage("generate") as stage:
        # Spawned, not forked: a fork of a process with threads running (a test's Spark session,
        # its Py4J gateway) can copy a lock some thread held, and the child waits on it forever.
        with multiprocessing.get_context("spawn").Pool(processes=2) as pool:
            results = []
            for result in pool.imap(_write_day, [(p, config) for p in plans]):
                results.append(result)
                if len(results) % 30 == 0:
                    progress.say(f"{len(results)}/{len(plans)} days written")
        truth = ground_truth(results, config, seed)
        truth["shift_day"] = days[min(shift_index, len(days) - 1)].isoformat()
        truth["outage_days"] = [days[i].isoformat() for i in outage]
        # The names a report CSV must neutralise.
        truth["formula_names"] = list(FORMULA_NAMES) if formula_names else []
        # Objects bronze must quarantine whole, not parse: nothing of them reaches a table.
        truth["quarantined_objects"] = []
        if gzip_bomb:
            bomb = f"{NFDUMP_PREFIX}{start}.bomb.csv.gz"
            size = write_gzip_bomb(config, bomb)
            truth["quarantined_objects"].append(bomb)
            progress.say(f"gzip bomb: {bomb}, {size:,} bytes expanding past {config.bronze.max_decompressed_mib:g} MiB")
        stage.done(objects=3 * len(plans) + len(truth["quarantined_objects"]), rows=truth["records"])
    truth_uri = f"{parent_uri(config.raw_uri)}/ground_truth/{start}_{end}_seed{seed}.json"
    write_object(truth_uri, json.dumps(truth, indent=1, sort_keys=True).encode(), config.s3)
    truth["uri"] = truth_uri
    return truth


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Write synthetic raw dumps with planted ground truth.")
    parser.add_argument("--config", required=True)
    parser.add_argument("--start", required=True, type=date.fromisoformat)
    parser.add_argument("--end", required=True, type=date.fromisoformat)
    parser.add_argument("--flows-per-day", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gzip-bomb", action="store_true",
                        help="also write a gzip bomb, which bronze must quarantine (bronze.max_decompressed_mib)")
    parser.add_argument("--formula-names", action="store_true",
                        help="also name sites so that a report CSV cell would run as a spreadsheet formula")
    args = parser.parse_args(argv)
    if args.end < args.start:
        parser.error(f"--end {args.end} is before --start {args.start}")
    config = load_config(args.config)
    progress = Progress("generate")
    truth = generate(config, args.start, args.end, args.flows_per_day, args.seed, progress, args.gzip_bomb,
                     args.formula_names)
    progress.summary([f"raw dumps:    {config.raw_uri}",
                      f"days:         {truth['start']} .. {truth['end']}",
                      f"flows:        {truth['flows']:,} ({truth['records']:,} records with exporter replies)",
                      f"ground truth: {truth['uri']}"])
    return truth


if __name__ == "__main__":
    main()
