"""`flowlake generate`: synthetic raw dumps with planted ground truth, deterministic by seed.

Run: `flowlake generate --config C --start 2017-07-01 --end 2017-12-31 --flows-per-day 20000`.

Each day gets an nfdump 1.7.x CSV dump (exporter-local time, Summary trailer) from the
`flows/pyongyang/` exporter, a GoFlow2 JSON-lines dump from `flows/goflow2/` and a passive
DNS file in COF from `dns/`, all gzip-compressed, under raw_uri (file:// or s3a://). The
world they are drawn from (services, overseas countries, a single foreign visit, miners) is
`world.yaml` beside this file; who talks to what changes across the window as DOMAIN.md
describes. The ground truth, computed from the generated records themselves, goes to
`<raw_uri>/../ground_truth/`. Days are generated in parallel worker processes, all columns
at once with numpy and pyarrow.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import ipaddress
import json
import multiprocessing
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
from flowlake.storage import parent_uri, s3_client, write_object

WORLD = yaml.safe_load((Path(__file__).with_name("world.yaml")).read_text())
NFDUMP_PREFIX, GOFLOW2_PREFIX, DNS_PREFIX = "flows/pyongyang/", "flows/goflow2/", "dns/"
GOFLOW2_SHARE = 0.3  # of each day's records; the rest are nfdump's
REPLY_SHARE = 0.05  # outbound flows that the exporter also reports in reverse
SCANNER_SHARE = 0.02  # inbound probes from scanners, on top of each day's flows
TRANSIT_SHARE = 0.01  # records between two outside addresses, which silver must drop
SCANNER_PREFIX, TRANSIT_PREFIX = "193.32.160.0/24", "203.0.113.0/24"
SCANNED_PORTS = np.array([22, 23, 445, 3389])
HOSTS_PER_RANGE = 24
IPS_PER_PREFIX = 6
# Busy 09:00-21:00 local on weekdays (DOMAIN.md); weekends carry 60% of a weekday's flows.
HOUR_WEIGHTS = np.array([1, 1, 1, 1, 1, 1, 2, 3, 5, 9, 10, 10, 10, 10, 10, 10, 10, 10, 9, 9, 8, 6, 3, 2], float)
WEEKEND_SHARE = 0.6


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
    """The planted miners: the last hosts of the first range; Monero starts two thirds in."""
    hosts = internal_hosts(config)
    plans = []
    for offset, coin, start_at in ((1, "bitcoin", 0.0), (2, "monero", 2 / 3)):
        range_name, ip = hosts[-offset] if len(hosts) >= offset else hosts[0]
        spec = WORLD["crypto"][coin]
        plans.append({"range_name": range_name, "internal_ip": ip, "coin": coin, "starts_at": start_at,
                      "peers": list(_ips(spec["peer_prefixes"], 12, f"{coin}-peer")),
                      "pools": list(_ips(spec["pool_prefixes"], 2, f"{coin}-pool")),
                      "pool_domains": spec["pool_domains"], "p2p_port": spec["p2p_port"],
                      "pool_port": spec["pool_port"]})
    return plans


def shifted_weight(d: Destination, progress: float) -> float:
    if d.shift == "falls":
        return d.weight * (1 - 0.9 * progress)
    if d.shift == "rises":
        return d.weight * (0.1 + 0.9 * progress)
    return d.weight


def _scanner_records(rng, hosts: list[tuple[str, str]], n: int) -> dict:
    """Inbound probes: outside scanners to internal hosts' remote-access ports."""
    k = int(n * SCANNER_SHARE)
    scanners = np.array(_ips([SCANNER_PREFIX], 16, "scanner"), dtype=object)
    host_index = rng.integers(0, len(hosts), size=k)
    return {
        "src_ip": scanners[rng.integers(0, len(scanners), size=k)],
        "range_name": np.array([h[0] for h in hosts], dtype=object)[host_index],
        "dst_ip": np.array([h[1] for h in hosts], dtype=object)[host_index],
        "src_port": rng.integers(32768, 61000, size=k), "dst_port": SCANNED_PORTS[rng.integers(0, 4, size=k)],
        "protocol": np.full(k, 6), "kind": np.full(k, "scanner", dtype=object),
        "name": np.full(k, "scanner", dtype=object), "category": np.full(k, "other", dtype=object),
        "detail": np.full(k, "", dtype=object), "domain": np.full(k, "", dtype=object),
    }


def _single_visit_records(rng, hosts: list[tuple[str, str]], n: int) -> dict:
    """One host's single sitting on a foreign country's local sites: every site at least once.

    The trap for a presence rule that counts domains and volume but not days and hosts.
    """
    spec = WORLD["single_visit"]
    sites = local_sites(spec, "single_visit")
    k = max(len(sites), int(n * spec["share"]))
    site = np.arange(k) % len(sites)
    range_name, host = hosts[0]
    return {
        "src_ip": np.full(k, host, dtype=object), "range_name": np.full(k, range_name, dtype=object),
        "dst_ip": np.array([s.ips[0] for s in sites], dtype=object)[site],
        "src_port": rng.integers(32768, 61000, size=k), "dst_port": np.full(k, 443),
        "protocol": np.full(k, 6), "kind": np.full(k, "single_visit", dtype=object),
        "name": np.full(k, spec["country"], dtype=object), "category": np.full(k, "other", dtype=object),
        "detail": np.array([s.detail for s in sites], dtype=object)[site],
        "domain": np.array([s.domains[0] for s in sites], dtype=object)[site],
    }


def _transit_records(rng, ip_table, n: int) -> dict:
    """Records between two outside addresses (an exporter sees more than the monitored ranges)."""
    k = int(n * TRANSIT_SHARE)
    sources = np.array(_ips([TRANSIT_PREFIX], 16, "transit"), dtype=object)
    return {
        "src_ip": sources[rng.integers(0, len(sources), size=k)], "range_name": np.full(k, "", dtype=object),
        "dst_ip": ip_table.ravel()[rng.integers(0, ip_table.size, size=k)],
        "src_port": rng.integers(32768, 61000, size=k), "dst_port": np.full(k, 443),
        "protocol": np.full(k, 6), "kind": np.full(k, "transit", dtype=object),
        "name": np.full(k, "transit", dtype=object), "category": np.full(k, "other", dtype=object),
        "detail": np.full(k, "", dtype=object), "domain": np.full(k, "", dtype=object),
    }


@dataclass(frozen=True)
class DayPlan:
    day: date
    progress: float  # 0 at the window's first day, 1 at its last
    flows: int
    seed: int
    single_visit: bool = False  # the day of the window's one foreign single visit


def _day_records(plan: DayPlan, config: Config) -> tuple[pa.Table, list[dict]]:
    """One day's flow records (UTC), with what each one is, for the ground truth."""
    rng = np.random.default_rng(plan.seed)
    destinations = world_destinations()
    hosts = internal_hosts(config)
    weekend = plan.day.weekday() >= 5
    n = int(plan.flows * (WEEKEND_SHARE if weekend else 1.0))
    weights = np.array([shifted_weight(d, plan.progress) for d in destinations])
    choice = rng.choice(len(destinations), size=n, p=weights / weights.sum())
    # Each destination's addresses, cycled to a fixed width so one fancy index picks them all.
    ip_table = np.array([[d.ips[j % len(d.ips)] for j in range(IPS_PER_PREFIX)] for d in destinations], dtype=object)
    dst_ip = ip_table[choice, rng.integers(0, IPS_PER_PREFIX, size=n)]
    host_index = rng.integers(0, len(hosts) - 2, size=n)  # the last two hosts are the miners
    columns = {
        "src_ip": np.array([h[1] for h in hosts], dtype=object)[host_index],
        "range_name": np.array([h[0] for h in hosts], dtype=object)[host_index],
        "dst_ip": dst_ip,
        "src_port": rng.integers(32768, 61000, size=n),
        "dst_port": np.array([d.port for d in destinations])[choice],
        "protocol": np.array([d.protocol for d in destinations])[choice],
        "kind": np.array([d.kind for d in destinations], dtype=object)[choice],
        "name": np.array([d.name for d in destinations], dtype=object)[choice],
        "category": np.array([d.category for d in destinations], dtype=object)[choice],
        "detail": np.array([d.detail for d in destinations], dtype=object)[choice],
        "domain": np.array([d.domains[0] if d.domains else "" for d in destinations], dtype=object)[choice],
    }
    extras = [_scanner_records(rng, hosts, n), _transit_records(rng, ip_table, n)]
    if plan.single_visit:
        extras.append(_single_visit_records(rng, hosts, n))
    columns = {key: np.concatenate([columns[key]] + [extra[key] for extra in extras]) for key in columns}
    mining = []
    for plan_m in miners(config):
        if plan.progress < plan_m["starts_at"]:
            continue
        k = max(24, n // 200)
        to_pool = rng.random(k) < 0.3
        peer = np.array(plan_m["peers"], dtype=object)[rng.integers(0, len(plan_m["peers"]), size=k)]
        pool = np.array(plan_m["pools"], dtype=object)[rng.integers(0, len(plan_m["pools"]), size=k)]
        extra = {
            "src_ip": np.full(k, plan_m["internal_ip"], dtype=object),
            "range_name": np.full(k, plan_m["range_name"], dtype=object),
            "dst_ip": np.where(to_pool, pool, peer),
            "src_port": rng.integers(32768, 61000, size=k),
            "dst_port": np.where(to_pool, plan_m["pool_port"], plan_m["p2p_port"]),
            "protocol": np.full(k, 6),
            "kind": np.full(k, "crypto", dtype=object),
            "name": np.full(k, plan_m["coin"], dtype=object),
            "category": np.full(k, "crypto", dtype=object),
            "detail": np.where(to_pool, "pool", "p2p").astype(object),
            "domain": np.where(to_pool, plan_m["pool_domains"][0], "").astype(object),
        }
        columns = {key: np.concatenate([columns[key], extra[key]]) for key in columns}
        mining.append({"internal_ip": plan_m["internal_ip"], "coin": plan_m["coin"], "flows": int(k),
                       "pool_flows": int(to_pool.sum()), "peers": sorted(set(peer[~to_pool].tolist()))})
    total = len(columns["src_ip"])
    hour = rng.choice(24, size=total, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    start_ms = (hour * 3600 + rng.integers(0, 3600, size=total)) * 1000 + rng.integers(0, 1000, size=total)
    day_start = datetime.combine(plan.day, time(), tzinfo=timezone.utc)
    ts = np.datetime64(day_start.replace(tzinfo=None), "ms") + start_ms.astype("timedelta64[ms]")
    duration_ms = rng.integers(10, 120_000, size=total)
    is_bulk = np.isin(columns["category"], ["streaming", "gaming"])
    size = rng.lognormal(mean=np.where(is_bulk, 12.0, 9.0), sigma=1.0).astype(np.int64) + 60
    columns.update(ts=ts, ts_end=ts + duration_ms.astype("timedelta64[ms]"), bytes=size,
                   packets=size // 900 + 1)
    return pa.table(columns), mining


def _local_time_text(ts: pa.Array, zone: str, day: date) -> pa.Array:
    """nfdump's exporter-local 'YYYY-MM-DD hh:mm:ss.fff' for UTC instants of one day."""
    offset = ZoneInfo(zone).utcoffset(datetime.combine(day, time(12)))
    local = pc.add(ts, pa.scalar(int(offset.total_seconds() * 1000), pa.duration("ms")))
    return pc.strftime(local, format="%Y-%m-%d %H:%M:%S")  # %S carries .fff for ms timestamps


def nfdump_csv(records: pa.Table, zone: str, day: date) -> bytes:
    n = records.num_rows
    zero = pa.array(["0"] * n)
    by_name = {
        "ts": _local_time_text(records["ts"], zone, day), "te": _local_time_text(records["ts_end"], zone, day),
        "td": pc.cast(pc.divide(pc.cast(pc.subtract(records["ts_end"], records["ts"]), pa.int64()), 1000.0), pa.string()),
        "sa": records["src_ip"], "da": records["dst_ip"], "sp": pc.cast(records["src_port"], pa.string()),
        "dp": pc.cast(records["dst_port"], pa.string()),
        "pr": pc.if_else(pc.equal(records["protocol"], 6), "TCP", "UDP"), "flg": pa.array([".AP.SF"] * n),
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


def goflow2_json(records: pa.Table) -> bytes:
    ns = lambda col: pc.cast(pc.multiply(pc.cast(records[col], pa.int64()), 1_000_000), pa.int64())
    table = pa.table({
        "type": pa.array(["IPFIX"] * records.num_rows), "sampling_rate": pa.array([0] * records.num_rows),
        "sampler_address": pa.array(["192.0.2.10"] * records.num_rows),
        "time_flow_start_ns": ns("ts"), "time_flow_end_ns": ns("ts_end"),
        "bytes": records["bytes"], "packets": records["packets"],
        "src_addr": records["src_ip"], "dst_addr": records["dst_ip"], "etype": pa.array(["IPv4"] * records.num_rows),
        "proto": pc.if_else(pc.equal(records["protocol"], 6), "TCP", "UDP"),
        "src_port": records["src_port"], "dst_port": records["dst_port"],
    })
    # pyarrow has no JSON writer: one json.dumps per row.
    rows = zip(*(table[c].to_pylist() for c in table.column_names))
    names = table.column_names
    return "".join(json.dumps(dict(zip(names, row)), separators=(",", ":")) + "\n" for row in rows).encode()


def pdns_cof(records: pa.Table, day: date) -> bytes:
    pairs = records.select(["domain", "dst_ip"]).filter(pc.not_equal(records["domain"], "")).group_by(
        ["domain", "dst_ip"]).aggregate([([], "count_all")])
    first = int(datetime.combine(day, time(), tzinfo=timezone.utc).timestamp())
    lines = [json.dumps({"rrname": f"www.{d}.", "rrtype": "A", "rdata": ip, "time_first": first,
                         "time_last": first + 86399, "count": c})
             for d, ip, c in zip(*(pairs[k].to_pylist() for k in ("domain", "dst_ip", "count_all")))]
    return ("\n".join(sorted(lines)) + "\n").encode()


def _write_day(args) -> dict:
    plan, config = args
    records, mining = _day_records(plan, config)
    goflow = np.random.default_rng(plan.seed + 1).random(records.num_rows) < GOFLOW2_SHARE
    replies = np.random.default_rng(plan.seed + 2).random(records.num_rows) < REPLY_SHARE
    nfdump_part = records.filter(pa.array(~goflow))
    reversed_part = nfdump_part.filter(pa.array(replies[~goflow])).rename_columns(
        [{"src_ip": "dst_ip", "dst_ip": "src_ip", "src_port": "dst_port", "dst_port": "src_port"}.get(c, c)
         for c in records.column_names]).select(records.column_names)
    nfdump_records = pa.concat_tables([nfdump_part, reversed_part])
    zone = source_for(config.sources, NFDUMP_PREFIX).timezone
    client = s3_client(config.s3) if config.raw_uri.startswith("s3a://") else None
    stamp = plan.day.isoformat()
    objects = {
        f"{NFDUMP_PREFIX}{stamp}.csv.gz": nfdump_csv(nfdump_records, zone, plan.day),
        f"{GOFLOW2_PREFIX}{stamp}.json.gz": goflow2_json(records.filter(pa.array(goflow))),
        f"{DNS_PREFIX}{stamp}.json.gz": pdns_cof(records, plan.day),
    }
    for key, body in objects.items():
        write_object(f"{config.raw_uri}/{key}", gzip.compress(body, compresslevel=1), config.s3, client)
    monitored = pc.not_equal(records["kind"], "transit")
    truth = records.filter(monitored).group_by(["range_name", "kind", "name", "category", "detail"]).aggregate(
        [("bytes", "sum"), ([], "count_all")])
    transit_replies = pc.sum(pc.equal(reversed_part["kind"], "transit")).as_py() or 0
    transit = pc.sum(pc.invert(monitored)).as_py() or 0
    return {"day": stamp, "flows": records.num_rows - transit, "records": nfdump_records.num_rows + int(goflow.sum()),
            "replies": reversed_part.num_rows - transit_replies, "unmonitored": transit + transit_replies,
            "nfdump_records": nfdump_records.num_rows,
            "goflow2_records": int(goflow.sum()), "groups": truth.to_pylist(), "mining": mining}


def ground_truth(days: list[dict], config: Config, seed: int) -> dict:
    """What later layers must recover, summed from the per-day records."""
    monthly: dict = {}
    local_flows: dict = {"present": {}, "single_visit": {}}
    cdn_served: dict = {}
    for d in days:
        month = d["day"][:7]
        for g in d["groups"]:
            cell = monthly.setdefault(g["range_name"], {}).setdefault(month, {})
            cat = cell.setdefault(g["category"], {"flows": 0, "bytes": 0})
            cat["flows"] += g["count_all"]
            cat["bytes"] += g["bytes_sum"]
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
    miners_truth = {}
    for d in days:
        for m in d["mining"]:
            entry = miners_truth.setdefault((m["internal_ip"], m["coin"]),
                                            {"internal_ip": m["internal_ip"], "coin": m["coin"], "first_day": d["day"],
                                             "flows": 0, "pool_flows": 0, "peers": set()})
            entry["flows"] += m["flows"]
            entry["pool_flows"] += m["pool_flows"]
            entry["peers"].update(m["peers"])
            entry["last_day"] = d["day"]
    return {
        "seed": seed, "start": days[0]["day"], "end": days[-1]["day"],
        "flows": sum(d["flows"] for d in days), "records": sum(d["records"] for d in days),
        "reply_duplicates": sum(d["replies"] for d in days),
        "unmonitored_records": sum(d["unmonitored"] for d in days),
        "records_by_format": {"nfdump_csv": sum(d["nfdump_records"] for d in days),
                              "goflow2_json": sum(d["goflow2_records"] for d in days)},
        "flows_by_day": {d["day"]: d["flows"] for d in days},
        "records_by_day": {d["day"]: d["records"] for d in days},
        "monthly_by_range_and_category": monthly,
        "crossover_month": crossover,
        # Local-site flows per country and kind: of the countries where the users are present
        # (sites used by many hosts on many days), and of the single visit's country.
        "overseas_countries": dict(sorted(local_flows["present"].items())),
        "single_visits": dict(sorted(local_flows["single_visit"].items())),
        # Local-site flows served from a CDN's addresses (remote_country is the CDN's).
        "cdn_served_local_flows": dict(sorted(cdn_served.items())),
        "miners": [{**m, "peers": sorted(m["peers"])} for m in miners_truth.values()],
    }


def generate(config: Config, start: date, end: date, flows_per_day: int, seed: int, progress: Progress) -> dict:
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    plans = [DayPlan(day, i / max(len(days) - 1, 1), flows_per_day, seed * 100_003 + i, i == len(days) // 2)
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
        stage.done(objects=3 * len(plans), rows=truth["records"])
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
    args = parser.parse_args(argv)
    if args.end < args.start:
        parser.error(f"--end {args.end} is before --start {args.start}")
    config = load_config(args.config)
    progress = Progress("generate")
    truth = generate(config, args.start, args.end, args.flows_per_day, args.seed, progress)
    progress.summary([f"raw dumps:    {config.raw_uri}",
                      f"days:         {truth['start']} .. {truth['end']}",
                      f"flows:        {truth['flows']:,} ({truth['records']:,} records with exporter replies)",
                      f"ground truth: {truth['uri']}"])
    return truth


if __name__ == "__main__":
    main()
