"""What every raw-format reader returns: typed flow or DNS rows, and quarantined lines.

`ParsedObject` holds one object's result. `flow_rows` and `dns_rows` assemble the typed
columns into the bronze schemas; `quarantine_rows` gives lines that could not be used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from flowlake.readers.fields import TIMESTAMP, kept

FLOW_SCHEMA = pa.schema([
    ("ts", TIMESTAMP), ("ts_end", TIMESTAMP), ("day", pa.date32()),
    ("src_ip", pa.string()), ("dst_ip", pa.string()),
    ("src_port", pa.int32()), ("dst_port", pa.int32()), ("protocol", pa.int32()),
    # the TCP flags the exporter saw (readers.fields.TcpFlags); null where the format has none
    ("tcp_flags", pa.int32()),
    ("bytes", pa.int64()), ("packets", pa.int64()), ("sampling_rate", pa.int32()),
    ("exporter", pa.string()), ("line_number", pa.int64()),
])

DNS_SCHEMA = pa.schema([
    ("rrname", pa.string()), ("rrtype", pa.string()), ("rdata", pa.string()),
    ("time_first", TIMESTAMP), ("time_last", TIMESTAMP), ("count", pa.int64()),
    ("day", pa.date32()), ("line_number", pa.int64()),
])

QUARANTINE_SCHEMA = pa.schema([
    ("line_number", pa.int64()), ("raw_line", pa.string()), ("reason", pa.string()),
])


class UnreadableObject(ValueError):
    """The whole object cannot be read (bad gzip, unknown format, empty); the message says why."""


@dataclass
class ParsedObject:
    format: str
    flows: pa.Table = field(default_factory=FLOW_SCHEMA.empty_table)
    dns: pa.Table = field(default_factory=DNS_SCHEMA.empty_table)
    quarantine: pa.Table = field(default_factory=QUARANTINE_SCHEMA.empty_table)
    control_lines: int = 0  # headers, trailers, blank lines, records that carry no flow


def quarantine_rows(line_number: pa.Array, raw_line: pa.Array, reason) -> pa.Table:
    reason = reason if isinstance(reason, (pa.Array, pa.ChunkedArray)) else pa.array([reason] * len(line_number), pa.string())
    return pa.table([pc.cast(line_number, pa.int64()), pc.cast(raw_line, pa.string()),
                     pc.cast(reason, pa.string())], schema=QUARANTINE_SCHEMA)


def _day(ts: pa.Array) -> pa.Array:
    return pc.cast(ts, pa.date32())


def record_end(columns: dict[str, pa.Array]) -> pa.Array:
    """When each record ends: its `ts_end`, or `ts` plus its `duration`."""
    return columns["ts_end"] if "ts_end" in columns else pc.add(columns["ts"], columns["duration"])


def flow_rows(columns: dict[str, pa.Array], line_number: pa.Array, exporter, sampling_rate) -> pa.Table:
    """Bronze flow rows from typed columns (`ts_end` or `duration` gives the end)."""
    ts = columns["ts"]
    ts_end = record_end(columns)
    n = len(ts)

    def filled(value, type_):
        if isinstance(value, (pa.Array, pa.ChunkedArray)):
            return pc.cast(value, type_)
        return pa.array([value] * n, type_)

    return pa.table([
        ts, pc.cast(ts_end, TIMESTAMP), _day(ts),
        columns["src_ip"], columns["dst_ip"],
        filled(columns.get("src_port"), pa.int32()), filled(columns.get("dst_port"), pa.int32()),
        pc.cast(columns["protocol"], pa.int32()), filled(columns.get("tcp_flags"), pa.int32()),
        columns["bytes"], columns["packets"],
        filled(sampling_rate, pa.int32()), filled(exporter, pa.string()),
        pc.cast(line_number, pa.int64()),
    ], schema=FLOW_SCHEMA)


def checked_flows(columns: dict[str, pa.Array], reason: pa.Array, line_number: pa.Array, raw_line: pa.Array,
                  exporter, sampling_rate, max_days_from_dump: int) -> tuple[pa.Table, pa.Table]:
    """Flow rows and quarantine rows after the checks that look at whole records.

    `reason` holds each record's field-level problem (null if none). Then: a record must not
    end before it starts, and its start and end must lie within `max_days_from_dump` days of
    the dump's median day (a dump covers a window; a record years away from it is a broken
    clock, and a duration of centuries would end past the year 9999 Spark can hold).
    """
    ends = record_end(columns)
    if "ts_end" in columns:
        backwards = pc.fill_null(pc.less(columns["ts_end"], columns["ts"]), False)
        reason = pc.if_else(pc.and_(backwards, pc.is_null(reason)), "ts_end: the record ends before it starts", reason)
    days = pc.cast(pc.cast(columns["ts"], pa.date32()), pa.int32())
    good_days = days.filter(pc.is_null(reason))
    if len(good_days):
        median = pc.quantile(good_days, q=0.5, interpolation="lower")[0].as_py()
        median_day = pa.array([median], pa.int32()).cast(pa.date32())[0].as_py()
        limit = f" days from the dump's median day {median_day}; the limit is {max_days_from_dump} " \
                f"(bronze.max_days_from_dump)"
        # A record far at both ends keeps the start's reason: the first reason set stays. The
        # end is not printed: Arrow prints years past 9999 wrongly.
        for instants, prefix in ((columns["ts"], ["ts: ", pc.cast(columns["ts"], pa.string()), " is "]),
                                 (ends, ["ts_end: the record ends "])):
            distance = pc.abs(pc.subtract(pc.cast(pc.cast(instants, pa.date32()), pa.int32()), median))
            far = pc.and_(pc.fill_null(pc.greater(distance, max_days_from_dump), False), pc.is_null(reason))
            if pc.any(far).as_py():
                far_reason = pc.binary_join_element_wise(*prefix, pc.cast(distance, pa.string()), limit, "")
                reason = pc.if_else(far, far_reason, reason)
    good = pc.is_null(reason)
    if isinstance(exporter, (pa.Array, pa.ChunkedArray)):
        exporter = kept(exporter, good)
    if isinstance(sampling_rate, (pa.Array, pa.ChunkedArray)):
        sampling_rate = kept(sampling_rate, good)
    flows = flow_rows({k: kept(v, good) for k, v in columns.items()}, kept(line_number, good), exporter, sampling_rate)
    bad = pc.invert(good)
    return flows, quarantine_rows(line_number.filter(bad), raw_line.filter(bad), reason.filter(bad))


def dns_rows(columns: dict[str, pa.Array], line_number: pa.Array) -> pa.Table:
    return pa.table([
        columns["rrname"], columns["rrtype"], columns["rdata"],
        columns["time_first"], columns["time_last"], columns["count"],
        _day(columns["time_first"]), pc.cast(line_number, pa.int64()),
    ], schema=DNS_SCHEMA)
