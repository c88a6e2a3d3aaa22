"""What every raw-format reader returns: typed flow or DNS rows, and quarantined lines.

`ParsedObject` holds one object's result. `flow_rows` and `dns_rows` assemble the typed
columns into the bronze schemas; `quarantine_rows` gives lines that could not be used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from flowlake.readers.fields import TIMESTAMP

FLOW_SCHEMA = pa.schema([
    ("ts", TIMESTAMP), ("ts_end", TIMESTAMP), ("day", pa.date32()),
    ("src_ip", pa.string()), ("dst_ip", pa.string()),
    ("src_port", pa.int32()), ("dst_port", pa.int32()), ("protocol", pa.int32()),
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


def flow_rows(columns: dict[str, pa.Array], line_number: pa.Array, exporter, sampling_rate) -> pa.Table:
    """Bronze flow rows from typed columns (`ts_end` or `duration` gives the end)."""
    ts = columns["ts"]
    ts_end = columns["ts_end"] if "ts_end" in columns else pc.add(ts, columns["duration"])
    n = len(ts)

    def filled(value, type_):
        if isinstance(value, (pa.Array, pa.ChunkedArray)):
            return pc.cast(value, type_)
        return pa.array([value] * n, type_)

    return pa.table([
        ts, pc.cast(ts_end, TIMESTAMP), _day(ts),
        columns["src_ip"], columns["dst_ip"],
        filled(columns.get("src_port"), pa.int32()), filled(columns.get("dst_port"), pa.int32()),
        pc.cast(columns["protocol"], pa.int32()),
        columns["bytes"], columns["packets"],
        filled(sampling_rate, pa.int32()), filled(exporter, pa.string()),
        pc.cast(line_number, pa.int64()),
    ], schema=FLOW_SCHEMA)


def ends_before_start(columns: dict[str, pa.Array]) -> pa.Array | None:
    """True where a record's end precedes its start (a corrupt clock); None if it has no end."""
    if "ts_end" not in columns:
        return None
    return pc.fill_null(pc.less(columns["ts_end"], columns["ts"]), False)


def dns_rows(columns: dict[str, pa.Array], line_number: pa.Array) -> pa.Table:
    return pa.table([
        columns["rrname"], columns["rrtype"], columns["rdata"],
        columns["time_first"], columns["time_last"], columns["count"],
        _day(columns["time_first"]), pc.cast(line_number, pa.int64()),
    ], schema=DNS_SCHEMA)
