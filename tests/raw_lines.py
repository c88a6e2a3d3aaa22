"""Hypothesis strategies for raw dumps of every supported format, good and bad lines mixed,
each line with what bronze must make of it.

`dump(fmt)` draws one object: a list of `Line`s (the header first, where the format has one),
each saying whether it must land (with the values it must land with), go to quarantine (with
the start of its reason) or count as a control line. `content(lines)` is the object's bytes.
Used by tests/unit/test_readers_bad_input.py (the pure readers, many examples) and
tests/integration/test_bad_input.py (whole objects through the bronze job on Spark).

Bad lines: one field replaced by a bad value (negative and huge numbers, bad addresses, ports,
protocols, impossible dates, clocks outside 1990..2100), wrong column counts, broken JSON,
binary junk, multi-megabyte lines, records far from the dump's day or ending before they
start, and a different header mid-file. Control lines: blank lines, the same header again,
nfdump's summary trailer, VPC NODATA/SKIPDATA records.

The number of examples: FLOWLAKE_HYPOTHESIS_EXAMPLES (`make faults` raises it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st

from flowlake.readers.delimited import ARGUS, NFDUMP_V1, NFDUMP_V2, VPC_FLOW_LOG, DelimitedFormat
from flowlake.readers.fields import PROTOCOL_NUMBERS

EXAMPLES = int(os.environ.get("FLOWLAKE_HYPOTHESIS_EXAMPLES", "0")) or None
UTC = timezone.utc
# Every good record starts on this day (the dump's day), so the median-day check keeps it.
DUMP_DAY = datetime(2017, 7, 1, tzinfo=UTC)
FAR_DAY = datetime(2031, 7, 1, tzinfo=UTC)
OBJECT_EXPORTER = "router-1"
CONFIG_SAMPLING_RATE = 100


@dataclass(frozen=True)
class Line:
    """One line of a drawn object and its fate: `landed` rows, `reason` prefix, or control."""

    data: bytes
    fate: str  # "land", "quarantine" or "control"
    rows: tuple[dict, ...] = ()  # the rows it must land as (pdns rdata lists give several)
    reason: str = ""  # how its quarantine reason must start ("" = any non-empty reason)

    @property
    def raw_text(self) -> str:
        """The text bronze keeps for it (invalid UTF-8 as U+FFFD, the CR of a CRLF dropped)."""
        return self.data.decode("utf-8", errors="replace").rstrip("\r")


def content(lines: list[Line]) -> bytes:
    return b"\n".join(line.data for line in lines) + b"\n"


@dataclass
class Record:
    """A drawn record: its columns (CSV/whitespace text, or JSON values) and expected row."""

    columns: dict
    row: dict
    extra_rows: list[dict] = field(default_factory=list)


# --- values ------------------------------------------------------------------------------

ports = st.integers(0, 65535)
counts = st.integers(0, 2**63 - 1)


@st.composite
def addresses(draw):
    """(text as an exporter might write it, canonical form bronze keeps)."""
    address = draw(st.ip_addresses())
    if address.version == 4:
        return str(address), str(address)
    text = draw(st.sampled_from([address.compressed, address.exploded, address.exploded.upper()]))
    return text, address.compressed


@st.composite
def protocols(draw):
    """(text, number): a number 0..255 or a name in any case."""
    if draw(st.booleans()):
        number = draw(st.integers(0, 255))
        return str(number), number
    name, number = draw(st.sampled_from(sorted(PROTOCOL_NUMBERS.items())))
    return draw(st.sampled_from([name, name.upper(), name.capitalize()])), number


def instants(precision_us: int, day: datetime = DUMP_DAY):
    """Instants on `day` (before 22:00, so an hour's duration stays on it), whole `precision_us`."""
    return st.integers(0, 22 * 3600 * 10**6 // precision_us).map(
        lambda n: day + timedelta(microseconds=n * precision_us))


durations_us = st.integers(0, 3600 * 10**6)


def seconds_text(micros: int) -> str:
    return f"{micros // 10**6}.{micros % 10**6:06d}" if micros % 10**6 else str(micros // 10**6)


def epoch_seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def epoch_nanos(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1)) * 1000


# Field values that must fail, none holding a separator (comma, whitespace) so the line keeps
# its column count and the reason names the field.
BAD_COUNTS = st.one_of(st.integers(max_value=-1).map(str), st.integers(2**63, 10**40).map(str),
                       st.sampled_from(["1.5", "1e3", "0x10", "abc", "-0", "-", "\u0661\u0662"]))
BAD_PORTS = st.one_of(st.integers(max_value=-1).map(str), st.integers(65536, 10**30).map(str),
                      st.sampled_from(["http", "1.0", "-", "0x_8", "0x10000"]))
BAD_PROTOCOLS = st.one_of(st.integers(256, 10**9).map(str), st.integers(max_value=-1).map(str),
                          st.sampled_from(["tcpx", "ipv4", "-", "6.0"]))
BAD_ADDRESSES = st.sampled_from([
    "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.-4", "::g", "1:2:3:4:5:6:7:8:9",
    "fe80::1%eth0", "localhost", "-", "1.2.3.4/24", "\u0661.\u0662.\u0663.\u0664"])
BAD_EPOCH_SECONDS = st.one_of(st.sampled_from(["-5", "1e9", "123", "5000000000", "1498867200.5", "-"]),
                              st.integers(10**20, 10**30).map(str))
BAD_EPOCH_NANOS = st.sampled_from([-5, 123, 1498867200, 1.5e18, "soon", 10**25])
BAD_DURATIONS = st.sampled_from(["-1", "abc", "1.2.3", "1e3", "-", "1234567890123", "1.-5"])


def bad_local_times(separator: str):
    return st.sampled_from([
        f"2017{separator}02{separator}30 10:00:00", f"2017{separator}13{separator}01 00:00:00",
        f"2017{separator}07{separator}01 24:00:00", f"2017{separator}07{separator}01 10:60:00",
        f"2017{separator}07{separator}01 10:00:60", f"2017{separator}07{separator}01T10:00:00",
        f"17{separator}07{separator}01 10:00:00", f"2017{separator}07{separator}01", "yesterday", "-"])


# --- formats -----------------------------------------------------------------------------

def nfdump_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def flow_row(ts, end, src, dst, src_port, dst_port, protocol, bytes_, packets, **more) -> dict:
    return {"ts": ts, "ts_end": end, "src_ip": src[1], "dst_ip": dst[1], "src_port": src_port,
            "dst_port": dst_port, "protocol": protocol, "bytes": bytes_, "packets": packets, **more}


@st.composite
def flow_values(draw, precision_us: int, day: datetime):
    """What every flow record has: start, a duration, addresses, ports, protocol, counts."""
    return dict(ts=draw(instants(precision_us, day)), duration=draw(durations_us), src=draw(addresses()),
                dst=draw(addresses()), protocol=draw(protocols()), sp=draw(ports), dp=draw(ports),
                packets=draw(counts), bytes_=draw(counts))


TCP_FLAG_LETTERS = (("C", 128), ("E", 64), ("U", 32), ("A", 16), ("P", 8), ("R", 4), ("S", 2), ("F", 1))


@st.composite
def tcp_flags(draw):
    """(text, bitmask): flags as nfdump prints them (8 letters, or 6 below ECE), in hex or decimal."""
    bits = draw(st.integers(0, 255))
    letters = "".join(letter if bits & bit else "." for letter, bit in TCP_FLAG_LETTERS)
    return draw(st.sampled_from([(letters, bits), (str(bits), bits), (f"0x{bits:02x}", bits)]
                                + ([(letters[2:], bits)] if bits < 64 else [])))


@st.composite
def argus_state(draw):
    """(text, the source's bitmask): a TCP state `SRC_DST` of flag letters, or a state without flags."""
    source, destination = (draw(st.integers(0, 255)) for _ in range(2))
    spelled = ("".join(letter for letter, bit in TCP_FLAG_LETTERS if bits & bit) for bits in (source, destination))
    return draw(st.sampled_from([("_".join(spelled), source), ("CON", None), ("INT", None)]))


@st.composite
def nfdump_v1_record(draw, day=DUMP_DAY):
    v = draw(flow_values(1000, day))
    end = v["ts"] + timedelta(milliseconds=v["duration"] // 1000)
    flags = draw(tcp_flags())
    used = {"ts": nfdump_time(v["ts"]), "te": nfdump_time(end), "sa": v["src"][0], "da": v["dst"][0],
            "sp": str(v["sp"]), "dp": str(v["dp"]), "pr": v["protocol"][0], "flg": flags[0],
            "ipkt": str(v["packets"]), "ibyt": str(v["bytes_"])}
    return Record({column: used.get(column, "0") for column in NFDUMP_V1.header},
                  flow_row(v["ts"], end, v["src"], v["dst"], v["sp"], v["dp"], v["protocol"][1], v["bytes_"],
                           v["packets"], tcp_flags=flags[1]))


@st.composite
def nfdump_v2_record(draw, day=DUMP_DAY):
    v = draw(flow_values(1000, day))
    columns = {"firstSeen": nfdump_time(v["ts"]), "duration": seconds_text(v["duration"]), "proto": v["protocol"][0],
               "srcAddr": v["src"][0], "srcPort": str(v["sp"]), "dstAddr": v["dst"][0], "dstPort": str(v["dp"]),
               "packets": str(v["packets"]), "bytes": str(v["bytes_"]), "flows": "1"}
    end = v["ts"] + timedelta(microseconds=v["duration"])
    return Record(columns, flow_row(v["ts"], end, v["src"], v["dst"], v["sp"], v["dp"], v["protocol"][1],
                                    v["bytes_"], v["packets"]))


@st.composite
def argus_port(draw):
    """(text, value): decimal, Argus's hex for ICMP type/code, or empty (no port)."""
    number = draw(ports)
    return draw(st.sampled_from([(str(number), number), (f"0x{number:04x}", number), ("", None)]))


@st.composite
def argus_record(draw, day=DUMP_DAY):
    v = draw(flow_values(1, day))
    sp, dp = draw(argus_port()), draw(argus_port())
    state = draw(argus_state())
    columns = {"StartTime": v["ts"].strftime("%Y/%m/%d %H:%M:%S.%f"), "Dur": seconds_text(v["duration"]),
               "Proto": v["protocol"][0], "SrcAddr": v["src"][0], "Sport": sp[0],
               "Dir": draw(st.sampled_from(["   ->", "  <->", "<?>"])), "DstAddr": v["dst"][0], "Dport": dp[0],
               "State": state[0], "sTos": "0", "dTos": "0", "TotPkts": str(v["packets"]), "TotBytes": str(v["bytes_"]),
               "SrcBytes": "0", "Label": "flow=Background"}
    end = v["ts"] + timedelta(microseconds=v["duration"])
    return Record(columns, flow_row(v["ts"], end, v["src"], v["dst"], sp[1], dp[1], v["protocol"][1], v["bytes_"],
                                    v["packets"], tcp_flags=state[1]))


@st.composite
def vpc_record(draw, day=DUMP_DAY):
    v = draw(flow_values(10**6, day))
    end = v["ts"] + timedelta(seconds=v["duration"] // 10**6)
    protocol = v["protocol"][1]  # VPC flow logs write the number
    interface = draw(st.from_regex(r"eni-[0-9a-f]{8}", fullmatch=True))
    columns = {"version": "2", "account-id": "123456789012", "interface-id": interface, "srcaddr": v["src"][0],
               "dstaddr": v["dst"][0], "srcport": str(v["sp"]), "dstport": str(v["dp"]), "protocol": str(protocol),
               "packets": str(v["packets"]), "bytes": str(v["bytes_"]), "start": str(epoch_seconds(v["ts"])),
               "end": str(epoch_seconds(end)), "action": draw(st.sampled_from(["ACCEPT", "REJECT"])),
               "log-status": "OK"}
    return Record(columns, flow_row(v["ts"], end, v["src"], v["dst"], v["sp"], v["dp"], protocol, v["bytes_"],
                                    v["packets"], exporter=interface))


@st.composite
def goflow2_record(draw, day=DUMP_DAY):
    v = draw(flow_values(1, day))
    end = v["ts"] + timedelta(microseconds=v["duration"])
    sampler = draw(st.sampled_from(["", "192.0.2.1", "2001:db8::9"]))
    rate = draw(st.sampled_from([0, 1, 512]))
    # GoFlow2 writes the protocol as a number; a name, as some collectors write, is read too.
    proto = v["protocol"][1] if draw(st.booleans()) else v["protocol"][0]
    # GoFlow2 stamps sFlow samples with their receive time to the nanosecond; bronze keeps
    # microseconds, so the nanoseconds below one microsecond must be dropped, not refused.
    start_ns, end_ns = epoch_nanos(v["ts"]) + draw(st.integers(0, 999)), epoch_nanos(end) + draw(st.integers(0, 999))
    columns = {"type": "SFLOW_5", "time_received_ns": start_ns, "time_flow_start_ns": start_ns, "time_flow_end_ns": end_ns,
               "bytes": v["bytes_"], "packets": v["packets"], "src_addr": v["src"][0], "dst_addr": v["dst"][0],
               "proto": proto, "src_port": v["sp"], "dst_port": v["dp"], "sampler_address": sampler,
               "sampling_rate": rate}
    return Record(columns, flow_row(v["ts"], end, v["src"], v["dst"], v["sp"], v["dp"], v["protocol"][1],
                                    v["bytes_"], v["packets"], exporter=sampler or OBJECT_EXPORTER,
                                    sampling_rate=rate or CONFIG_SAMPLING_RATE))


names = st.from_regex(r"[a-zA-Z0-9-]{1,12}(\.[a-zA-Z0-9-]{1,12}){1,3}\.?", fullmatch=True)


@st.composite
def pdns_record(draw, day=DUMP_DAY):
    rrtype = draw(st.sampled_from(["A", "AAAA", "CNAME", "NS", "MX"]))
    if rrtype in ("A", "AAAA"):
        values = [draw(addresses().filter(lambda a: (":" in a[1]) == (rrtype == "AAAA")))]
    else:
        values = [(name, name.lower().rstrip(".")) for name in draw(st.lists(names, min_size=1, max_size=3))]
    first = draw(instants(10**6, day))
    last = first + timedelta(seconds=draw(st.integers(0, 10**6)))
    count = draw(st.one_of(st.none(), st.integers(0, 10**9)))
    rrname = draw(names)
    # One value as a string or a list of them: COF allows both, a list gives a row per element.
    rdata = values[0][0] if len(values) == 1 and draw(st.booleans()) else [text for text, _ in values]
    columns = {"rrname": rrname, "rrtype": draw(st.sampled_from([rrtype, rrtype.lower()])), "rdata": rdata,
               "time_first": epoch_seconds(first), "time_last": epoch_seconds(last)}
    if count is not None:
        columns["count"] = count
    rows = [{"rrname": rrname.lower().rstrip("."), "rrtype": rrtype, "rdata": canonical, "time_first": first,
             "time_last": last, "count": 1 if count is None else count} for _, canonical in values]
    return Record(columns, rows[0], rows[1:])


@dataclass(frozen=True)
class DumpFormat:
    """How to draw one raw format: its records, where each bronze field sits, its bad values."""

    name: str  # the reader's format name
    record: Callable  # record(day) draws a Record starting on `day`
    columns: dict[str, str]  # bronze field -> column or JSON key
    bad_values: dict[str, st.SearchStrategy]  # bronze field -> values that field must refuse
    delimited: DelimitedFormat | None = None  # None: JSON lines
    end: Callable | None = None  # end(moment) -> the end column's value, for formats with an end column
    far_durations: tuple[str, ...] = ()  # durations ending past the dump's window, for formats with one

    def render(self, columns: dict) -> bytes:
        if self.delimited is None:
            return json.dumps(columns).encode()
        return (self.delimited.separator or " ").join(columns.values()).encode()

    @property
    def header(self) -> bytes | None:
        if self.delimited is None:
            return None
        return (self.delimited.separator or " ").join(self.delimited.header).encode()

    @property
    def flows(self) -> bool:
        return self.name != "pdns_cof"


def _delimited(fmt: DelimitedFormat, record, bad_times, end=None) -> DumpFormat:
    columns = {name: column for name, (column, _) in fmt.columns.items() if name != "exporter"}
    bad = {"ts": bad_times, "src_ip": BAD_ADDRESSES, "dst_ip": BAD_ADDRESSES, "src_port": BAD_PORTS,
           "dst_port": BAD_PORTS, "protocol": BAD_PROTOCOLS, "packets": BAD_COUNTS, "bytes": BAD_COUNTS}
    if "ts_end" in columns:
        bad["ts_end"] = bad_times
    else:
        bad["duration"] = BAD_DURATIONS
    return DumpFormat(fmt.name, record, columns, bad, fmt, end,
                      far_durations=() if end else ("999999999999", "500000000"))


FORMATS = {
    "nfdump_csv_v1": _delimited(NFDUMP_V1, nfdump_v1_record, bad_local_times("-"), end=nfdump_time),
    "nfdump_csv_v2": _delimited(NFDUMP_V2, nfdump_v2_record, bad_local_times("-")),
    "argus": _delimited(ARGUS, argus_record, bad_local_times("/")),
    "vpc_flow_log": _delimited(VPC_FLOW_LOG, vpc_record, BAD_EPOCH_SECONDS, end=lambda m: str(epoch_seconds(m))),
    "goflow2_json": DumpFormat(
        "goflow2_json", goflow2_record,
        {"ts": "time_flow_start_ns", "ts_end": "time_flow_end_ns", "src_ip": "src_addr", "dst_ip": "dst_addr",
         "src_port": "src_port", "dst_port": "dst_port", "protocol": "proto", "bytes": "bytes",
         "packets": "packets", "sampling_rate": "sampling_rate"},
        {"ts": BAD_EPOCH_NANOS, "ts_end": BAD_EPOCH_NANOS, "src_ip": BAD_ADDRESSES | st.just(167772161),
         "dst_ip": BAD_ADDRESSES, "src_port": st.sampled_from([-1, 70000, 1.5, "http", [80]]),
         "dst_port": st.sampled_from([-1, 65536, True, {"port": 80}]),
         "protocol": st.sampled_from([256, -1, "tcpx", 6.5]),
         "bytes": st.sampled_from([-1, 1.5, 5.0, 1e30, 2**64, "12abc", {}, [], True, None]),
         "packets": st.sampled_from([-1, 2.0, 10**30, "many", None]),
         "sampling_rate": st.sampled_from([-1, 1.5, "x"])},
        end=epoch_nanos),
    "pdns_cof": DumpFormat(
        "pdns_cof", pdns_record,
        {"rrname": "rrname", "rrtype": "rrtype", "rdata": "rdata", "time_first": "time_first",
         "time_last": "time_last", "count": "count"},
        {"rrname": st.sampled_from(["", " ", ".", None]), "rrtype": st.sampled_from(["", None]),
         "rdata": st.sampled_from(["", None, []]), "time_first": st.sampled_from([-5, 123, 10**12, "x", None]),
         "time_last": st.sampled_from([-5, 5000000000, "x", None]), "count": st.sampled_from([-1, 1.5, "x"])}),
}


# --- lines -------------------------------------------------------------------------------

NFDUMP_TRAILER = (b"Summary", b"flows,bytes,packets,avg_bps,avg_pps,avg_bpp", b"3,1480,10,0,0,148")


def _kinds(fmt: DumpFormat) -> list[str]:
    # "good" and "bad_field" listed twice: most lines of a real dump are records.
    kinds = ["good", "good", "bad_field", "bad_field", "junk", "blank", "huge", "structure"]
    if fmt.flows:
        kinds += ["far_start", "far_end"]
    if fmt.end:
        kinds.append("backwards")
    if fmt.delimited is not None:
        kinds += ["same_header", "other_header"]
    if fmt.delimited in (NFDUMP_V1, NFDUMP_V2):
        kinds.append("trailer")
    if fmt.delimited is VPC_FLOW_LOG:
        kinds.append("nodata")
    return kinds


@st.composite
def entry(draw, fmt: DumpFormat, kind: str | None = None) -> tuple[str, Record | None, list]:
    """One drawn entry: (kind, its record if it has one, its lines as (bytes, fate, reason))."""
    kind = kind or draw(st.sampled_from(_kinds(fmt)))
    record = draw(fmt.record(FAR_DAY if kind == "far_start" else DUMP_DAY))
    columns = dict(record.columns)
    if kind == "good":
        return kind, record, [(fmt.render(columns), "land", "")]
    if kind == "bad_field":
        name = draw(st.sampled_from(sorted(fmt.bad_values)))
        value = draw(fmt.bad_values[name])
        if value is None:
            columns.pop(fmt.columns[name], None)
        else:
            columns[fmt.columns[name]] = value
        return kind, None, [(fmt.render(columns), "quarantine", f"{name}: ")]
    if kind == "junk":
        # A replacement character first: never blank, never a header, never a JSON object.
        junk = b"\xff" + draw(st.binary(max_size=300)).replace(b"\n", b"")
        return kind, None, [(junk, "quarantine", "")]
    if kind == "blank":
        return kind, None, [(draw(st.sampled_from([b"", b"   ", b"\t", b"\r", b" \r"])), "control", "")]
    if kind == "huge":
        # A multi-megabyte line: a count of a million or more digits.
        name = "bytes" if fmt.flows else "count"
        columns[fmt.columns[name]] = "9" * (draw(st.integers(1, 3)) << 20)
        return kind, None, [(fmt.render(columns), "quarantine", f"{name}: ")]
    if kind == "structure":
        rendered = fmt.render(columns)
        if fmt.delimited is None:
            broken = draw(st.one_of(
                st.integers(1, len(rendered) - 1).map(lambda cut: rendered[:cut]),
                st.sampled_from([b"[" + rendered + b"]", rendered + b" trailing", b'"a string"', b"42", b"null"])))
            return kind, None, [(broken, "quarantine", "")]
        values = list(columns.values())
        change = draw(st.integers(1 - len(values), 5).filter(bool))
        values = values[:change] if change < 0 else values + ["0"] * change
        return kind, None, [((fmt.delimited.separator or " ").join(values).encode(), "quarantine", "expected ")]
    if kind == "far_start":
        return kind, None, [(fmt.render(columns), "quarantine", "ts: ")]
    if kind == "far_end":
        if fmt.end:
            columns[fmt.columns["ts_end"]] = fmt.end(record.row["ts"] + (FAR_DAY - DUMP_DAY))
        else:
            columns[fmt.columns["duration"]] = draw(st.sampled_from(fmt.far_durations))
        return kind, None, [(fmt.render(columns), "quarantine", "ts_end: ")]
    if kind == "backwards":
        columns[fmt.columns["ts_end"]] = fmt.end(record.row["ts"] - timedelta(seconds=draw(st.integers(1, 10**5))))
        return kind, None, [(fmt.render(columns), "quarantine", "ts_end: the record ends before it starts")]
    if kind == "same_header":
        return kind, None, [(fmt.header, "control", "")]
    if kind == "other_header":
        others = [f for f in (NFDUMP_V1, NFDUMP_V2, ARGUS, VPC_FLOW_LOG) if f is not fmt.delimited]
        other = draw(st.sampled_from(others))
        renamed = list(fmt.delimited.header)
        renamed[draw(st.integers(0, len(renamed) - 1))] += "_v2"
        text = draw(st.sampled_from([(other.separator or " ").join(other.header),
                                     (fmt.delimited.separator or " ").join(renamed)]))
        return kind, None, [(text.encode(), "quarantine", "")]
    if kind == "trailer":
        return kind, None, [(line, "control", "") for line in NFDUMP_TRAILER]
    assert kind == "nodata", kind
    # A VPC record of a window without traffic (NODATA) or whose records AWS dropped (SKIPDATA).
    start = epoch_seconds(record.row["ts"])
    status = draw(st.sampled_from(["NODATA", "SKIPDATA"]))
    return kind, None, [(f"2 123456789012 eni-0a1b2c3d - - - - - - - {start} {start + 60} - {status}".encode(),
                         "control", "")]


@st.composite
def dump(draw, fmt: DumpFormat, max_entries: int = 25) -> list[Line]:
    """One object's lines, numbered from 1: the header (or, for JSON lines, a good first
    record, which tells the format), then drawn entries."""
    entries = [draw(entry(fmt, "good"))] if fmt.delimited is None else []
    entries += draw(st.lists(entry(fmt), max_size=max_entries))
    # Records far from the dump's day must stay fewer than those on it, or the median day the
    # reader measures from moves to them.
    on_the_day = sum(kind in ("good", "far_end") for kind, _, _ in entries)
    far = [i for i, (kind, _, _) in enumerate(entries) if kind == "far_start"]
    entries = [e for i, e in enumerate(entries) if i not in far[on_the_day:]]
    lines = [Line(fmt.header, "control")] if fmt.header else []
    for kind, record, parts in entries:
        for data, fate, reason in parts:
            number = len(lines) + 1
            rows = tuple({**row, "line_number": number} for row in [record.row, *record.extra_rows]) \
                if fate == "land" else ()
            lines.append(Line(data, fate, rows, reason))
    return lines
