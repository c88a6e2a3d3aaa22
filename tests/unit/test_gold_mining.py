"""Unit tests for gold's mining rule (flowlake.gold.aggregates: mining_days, crypto_activity_daily,
crypto_contacts_daily): what makes a host a miner, and each decoy that must stay a contact."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flowlake.gold.aggregates import MiningRule, crypto_activity_daily, crypto_contacts_daily, mining_days

SILVER_SCHEMA = ("day date, ts timestamp, ts_end timestamp, range_name string, internal_ip string, "
                 "remote_ip string, remote_port int, direction string, bytes long, crypto_coin string, "
                 "crypto_role string, flows long")
DAY = date(2017, 7, 1)
HOST, OTHER_HOST = "175.45.176.10", "175.45.176.11"
POOL, POOL_WEB = "94.130.1.1", "94.130.2.2"
RULE = MiningRule(min_pool_hours=18, min_p2p_peers=8)


def flow(start: str, minutes: float, remote_ip: str, port: int, role: str | None, coin: str | None = "monero",
         direction: str = "outbound", host: str = HOST, day: date = DAY, size: int = 100):
    """One silver row starting at `start` (HH:MM, UTC) on `day` and lasting `minutes`."""
    hours, mins = map(int, start.split(":"))
    ts = datetime.combine(day, datetime.min.time()) + timedelta(hours=hours, minutes=mins)
    return (day, ts, ts + timedelta(minutes=minutes), "kp", host, remote_ip, port, direction, size, coin, role, 1)


def peers(count: int, port: int = 18080, coin: str = "monero", direction: str = "outbound"):
    return [flow(f"{i % 24:02d}:30", 1, f"136.243.0.{i + 1}", port, "p2p", coin, direction) for i in range(count)]


def silver(spark, rows):
    return spark.createDataFrame(rows, SILVER_SCHEMA)


def miners(spark, rows, rule=RULE):
    return {(r.internal_ip, r.coin): (r.pool_hours, r.p2p_peers, r.evidence)
            for r in mining_days(silver(spark, rows), rule).collect()}


def contacts(spark, rows, rule=RULE):
    return {(r.internal_ip, r.coin, r.kind): (r.flows, r.bytes, r.remote_ips)
            for r in crypto_contacts_daily(silver(spark, rows), rule).collect()}


# --- pool: stratum sessions that last or recur through the day and night ----------------------

def test_one_stratum_session_lasting_the_whole_day_and_night_is_mining(spark):
    assert miners(spark, [flow("00:05", 23 * 60 + 50, POOL, 4444, "pool")]) == {
        (HOST, "monero"): (24, 0, "stratum to a pool open in 24 of 24 hours")}


def test_short_stratum_sessions_recurring_every_hour_are_mining(spark):
    hourly = [flow(f"{h:02d}:10", 20, POOL, 4444, "pool") for h in range(24)]
    assert miners(spark, hourly) == {(HOST, "monero"): (24, 0, "stratum to a pool open in 24 of 24 hours")}


def test_a_session_running_past_midnight_counts_only_up_to_the_end_of_its_day(spark):
    # 06:00 to 04:00 the next day: hours 6-23 of this day, 18 of them.
    assert miners(spark, [flow("06:00", 22 * 60, POOL, 4444, "pool")]) == {
        (HOST, "monero"): (18, 0, "stratum to a pool open in 18 of 24 hours")}


def test_pool_hours_threshold_edges(spark):
    exactly = [flow("00:00", 18 * 60 - 1, POOL, 4444, "pool")]  # hours 0-17
    one_short = [flow("00:00", 17 * 60 - 1, POOL, 4444, "pool")]  # hours 0-16
    assert miners(spark, exactly) == {(HOST, "monero"): (18, 0, "stratum to a pool open in 18 of 24 hours")}
    assert miners(spark, one_short) == {}
    assert contacts(spark, one_short) == {(HOST, "monero", "pool"): (1, 100, 1)}
    assert miners(spark, one_short, MiningRule(min_pool_hours=17, min_p2p_peers=8)) == {
        (HOST, "monero"): (17, 0, "stratum to a pool open in 17 of 24 hours")}


def test_stratum_in_working_hours_only_is_a_contact(spark):
    # 09:00-21:00 every hour: a human's day, no night.
    office = [flow(f"{h:02d}:00", 30, POOL, 4444, "pool") for h in range(9, 21)]
    assert miners(spark, office) == {}
    assert contacts(spark, office) == {(HOST, "monero", "pool"): (12, 1200, 1)}


# --- pool web sites on 443 are never stratum ----------------------------------------------

def test_a_ten_minute_visit_to_a_pool_web_site_on_443_is_a_pool_web_contact(spark):
    visit = [flow("14:00", 10, POOL_WEB, 443, "pool_web"), flow("14:03", 2, POOL_WEB, 443, "pool_web")]
    assert miners(spark, visit) == {}
    assert contacts(spark, visit) == {(HOST, "monero", "pool_web"): (2, 200, 1)}


def test_a_pool_web_site_open_all_day_is_still_no_mining(spark):
    # Port 443 alone is never a stratum signal, however long the tab stays open.
    dashboard = [flow("00:00", 24 * 60 - 1, POOL_WEB, 443, "pool_web")]
    assert miners(spark, dashboard) == {}
    assert contacts(spark, dashboard) == {(HOST, "monero", "pool_web"): (1, 100, 1)}


# --- p2p: the coin's port to many distinct peers ------------------------------------------

def test_p2p_to_twelve_peers_is_mining(spark):
    assert miners(spark, peers(12)) == {(HOST, "monero"): (0, 12, "p2p port to 12 distinct peers")}
    assert contacts(spark, peers(12)) == {}


def test_p2p_peers_threshold_edges(spark):
    assert miners(spark, peers(8)) == {(HOST, "monero"): (0, 8, "p2p port to 8 distinct peers")}
    assert miners(spark, peers(7)) == {}
    assert contacts(spark, peers(7)) == {(HOST, "monero", "p2p"): (7, 700, 7)}


def test_one_or_two_flows_to_one_bitcoin_peer_are_a_contact(spark):
    one_off = [flow("10:00", 1, "88.99.3.4", 8333, "p2p", "bitcoin"), flow("10:05", 1, "88.99.3.4", 8333, "p2p", "bitcoin")]
    assert miners(spark, one_off) == {}
    assert contacts(spark, one_off) == {(HOST, "bitcoin", "p2p"): (2, 200, 1)}


def test_many_flows_to_one_web_server_on_18080_are_a_contact(spark):
    # A developer's web server on Monero's p2p port: one remote address, however many flows.
    dev_server = [flow(f"{h:02d}:15", 5, "198.51.100.80", 18080, "p2p") for h in range(0, 24)] * 2
    assert miners(spark, dev_server) == {}
    assert contacts(spark, dev_server) == {(HOST, "monero", "p2p"): (48, 4800, 1)}


def test_peers_reaching_the_host_do_not_make_it_a_miner(spark):
    inbound = peers(12, direction="inbound")
    assert miners(spark, inbound) == {}
    assert contacts(spark, inbound) == {(HOST, "monero", "p2p"): (12, 1200, 12)}


# --- the two tables ---------------------------------------------------------------------------

def test_a_miner_keeps_every_flow_of_its_coin_with_the_evidence_and_nothing_goes_to_contacts(spark):
    rows = ([flow("00:05", 23 * 60 + 50, POOL, 4444, "pool", size=5000), flow("12:00", 5, POOL_WEB, 443, "pool_web")]
            + peers(3, direction="inbound")
            + [flow("12:00", 5, "157.240.1.1", 443, None, None)])  # not crypto: in neither table
    activity = {r.role: r.asDict() for r in crypto_activity_daily(silver(spark, rows), RULE).collect()}
    evidence = "stratum to a pool open in 24 of 24 hours"
    common = {"day": DAY, "range_name": "kp", "internal_ip": HOST, "coin": "monero", "pool_hours": 24, "p2p_peers": 0,
              "evidence": evidence}
    assert activity == {
        "pool": {**common, "role": "pool", "flows": 1, "bytes": 5000, "peers": 1, "flows_per_hour": 0.042},
        "pool_web": {**common, "role": "pool_web", "flows": 1, "bytes": 100, "peers": 1, "flows_per_hour": 0.042},
        "p2p": {**common, "role": "p2p", "flows": 3, "bytes": 300, "peers": 3, "flows_per_hour": 0.125}}
    assert contacts(spark, rows) == {}


def test_the_rule_is_per_host_coin_and_day(spark):
    next_day = DAY + timedelta(days=1)
    rows = (peers(12, port=8333, coin="bitcoin")
            + [flow("10:00", 1, "136.243.9.9", 18080, "p2p")]  # the same host's one monero peer
            + [flow("10:00", 1, "88.99.0.1", 8333, "p2p", "bitcoin", day=next_day)]  # and one bitcoin peer next day
            + [flow("10:00", 1, "88.99.0.1", 8333, "p2p", "bitcoin", host=OTHER_HOST)])
    df = silver(spark, rows)
    assert {(r.day, r.internal_ip, r.coin) for r in mining_days(df, RULE).collect()} == {(DAY, HOST, "bitcoin")}
    assert {(r.day, r.internal_ip, r.coin, r.kind): r.flows for r in crypto_contacts_daily(df, RULE).collect()} == {
        (DAY, HOST, "monero", "p2p"): 1, (next_day, HOST, "bitcoin", "p2p"): 1, (DAY, OTHER_HOST, "bitcoin", "p2p"): 1}


def test_both_signals_are_named_in_the_evidence(spark):
    rows = [flow("00:00", 24 * 60 - 1, POOL, 4444, "pool")] + peers(9)
    assert miners(spark, rows) == {
        (HOST, "monero"): (24, 9, "stratum to a pool open in 24 of 24 hours; p2p port to 9 distinct peers")}


def test_every_crypto_flow_lands_in_exactly_one_table(spark):
    rows = ([flow(f"{h:02d}:00", 59, POOL, 4444, "pool") for h in range(24)] + peers(7, port=8333, coin="bitcoin")
            + [flow("10:00", 3, POOL_WEB, 443, "pool_web", host=OTHER_HOST)])
    df = silver(spark, rows)
    in_activity = sum(r.flows for r in crypto_activity_daily(df, RULE).collect())
    in_contacts = sum(r.flows for r in crypto_contacts_daily(df, RULE).collect())
    assert (in_activity, in_contacts) == (24, 8)
