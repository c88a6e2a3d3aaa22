"""Readers for the JSON-lines formats: GoFlow2 flows and passive DNS in the Common Output
Format (COF: rrname, rrtype, rdata, time_first, time_last, count).

GoFlow2 files are read by pyarrow's JSON reader in one pass; a file with any broken line is
read again line by line, so each bad line is quarantined alone with its own reason.
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from flowlake.readers.fields import (
    COUNT, EPOCH_NANOS, EPOCH_SECONDS, IP, PORT, PROTOCOL, TCP_FLAGS, TEXT, RawRecords, kept, typed_columns,
)
from flowlake.readers.records import ParsedObject, checked_flows, dns_rows, quarantine_rows

GOFLOW2_FIELDS = {
    "ts": ("time_flow_start_ns", EPOCH_NANOS), "ts_end": ("time_flow_end_ns", EPOCH_NANOS),
    "src_ip": ("src_addr", IP), "dst_ip": ("dst_addr", IP),
    "src_port": ("src_port", PORT), "dst_port": ("dst_port", PORT),
    "protocol": ("proto", PROTOCOL), "tcp_flags": ("tcp_flags", TCP_FLAGS),
    "bytes": ("bytes", COUNT), "packets": ("packets", COUNT),
    "exporter": ("sampler_address", TEXT), "sampling_rate": ("sampling_rate", COUNT),
}
GOFLOW2_OPTIONAL = frozenset({"exporter", "sampling_rate", "tcp_flags"})

PDNS_FIELDS = {
    "rrname": ("rrname", TEXT), "rrtype": ("rrtype", TEXT), "rdata": ("rdata", TEXT),
    "time_first": ("time_first", EPOCH_SECONDS), "time_last": ("time_last", EPOCH_SECONDS),
    "count": ("count", COUNT),
}


def is_goflow2(record: dict) -> bool:
    return "time_flow_start_ns" in record or "sampler_address" in record


def is_pdns(record: dict) -> bool:
    return "rrname" in record and "rdata" in record


def _as_text(value) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _records_line_by_line(lines: pa.Array, line_numbers: pa.Array, keys: list[str], explode: str | None = None):
    """RawRecords from lines parsed one at a time, and the lines that are not JSON objects.

    `explode` names a key whose list value gives one record per element (COF's rdata).
    """
    numbers, raws, values = [], [], {key: [] for key in keys}
    bad_numbers, bad_raws, bad_reasons = [], [], []
    for number, line in zip(line_numbers.to_pylist(), lines.to_pylist()):
        try:
            record = json.loads(line)
        except ValueError as err:
            bad_numbers.append(number), bad_raws.append(line), bad_reasons.append(f"not valid JSON: {err}")
            continue
        if not isinstance(record, dict):
            bad_numbers.append(number), bad_raws.append(line)
            bad_reasons.append(f"expected a JSON object, found {type(record).__name__}")
            continue
        items = record.get(explode) if explode else None
        for item in items if isinstance(items, list) and items else [None]:
            numbers.append(number), raws.append(line)
            for key in keys:
                values[key].append(_as_text(item if key == explode and item is not None else record.get(key)))
    records = RawRecords(line_number=pa.array(numbers, pa.int64()), raw_line=pa.array(raws, pa.string()),
                         fields={key: pa.array(v, pa.string()) for key, v in values.items()})
    return records, quarantine_rows(pa.array(bad_numbers, pa.int64()), pa.array(bad_raws, pa.string()),
                                    pa.array(bad_reasons, pa.string()))


def _records_in_one_pass(lines: pa.Array, line_numbers: pa.Array, keys: list[str]) -> RawRecords | None:
    """RawRecords from pyarrow's JSON reader, or None if any line is not a plain JSON object
    or a field's values would not keep their text (see below)."""
    try:
        table = pa_json.read_json(io.BytesIO("\n".join(lines.to_pylist()).encode()),
                                  read_options=pa_json.ReadOptions(block_size=64 << 20))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(lines):
        return None
    fields = {}
    for key in keys:
        if key not in table.column_names:
            fields[key] = pa.nulls(len(lines), pa.string())
            continue
        column = table.column(key).combine_chunks()
        # Only types whose text pyarrow writes as Python does: it prints 5.0 as "5" and infers
        # timestamps from date-like strings, so a float or timestamp column is read line by
        # line, where the record keeps its own text and is judged the same in any file.
        if not (pa.types.is_string(column.type) or pa.types.is_integer(column.type)
                or pa.types.is_boolean(column.type) or pa.types.is_null(column.type)):
            return None
        fields[key] = pc.cast(column, pa.string())
    return RawRecords(line_number=line_numbers, raw_line=lines, fields=fields)


def parse_goflow2(lines: pa.Array, line_numbers: pa.Array, exporter: str,
                  sampling_rate: int | None, max_days_from_dump: int) -> ParsedObject:
    keys = [key for key, _ in GOFLOW2_FIELDS.values()]
    records = _records_in_one_pass(lines, line_numbers, keys)
    not_json = None
    if records is None:
        records, not_json = _records_line_by_line(lines, line_numbers, keys)
    spec = {field: kind for field, (_, kind) in GOFLOW2_FIELDS.items()}
    records.fields = {field: records.fields[key] for field, (key, _) in GOFLOW2_FIELDS.items()}
    columns, reason = typed_columns(records, spec, "UTC", GOFLOW2_OPTIONAL)
    # GoFlow2 writes sampling_rate 0 when the exporter did not say: fall back to config.
    reported = columns.pop("sampling_rate")
    rate = pc.if_else(pc.fill_null(pc.greater(reported, 0), False), reported, pa.scalar(sampling_rate, pa.int64()))
    flows, quarantined = checked_flows(
        columns, reason, records.line_number, records.raw_line,
        exporter=pc.coalesce(columns.pop("exporter"), pa.scalar(exporter)), sampling_rate=rate,
        max_days_from_dump=max_days_from_dump)
    parts = [quarantined] + ([not_json] if not_json is not None else [])
    return ParsedObject(format="goflow2_json", flows=flows, quarantine=pa.concat_tables(parts))


def parse_pdns(lines: pa.Array, line_numbers: pa.Array) -> ParsedObject:
    keys = [key for key, _ in PDNS_FIELDS.values()]
    records, not_json = _records_line_by_line(lines, line_numbers, keys, explode="rdata")
    # Names compare without case and without the root's trailing dot.
    for key in ("rrname", "rdata"):
        records.fields[key] = pc.utf8_rtrim(pc.utf8_lower(records.fields[key]), ".")
    records.fields["rrtype"] = pc.utf8_upper(records.fields["rrtype"])
    records.fields["count"] = pc.coalesce(records.fields["count"], pa.scalar("1"))
    spec = {field: kind for field, (_, kind) in PDNS_FIELDS.items()}
    columns, reason = typed_columns(records, spec, "UTC")
    # Address records are joined to flow addresses: keep them in the same canonical form.
    is_address = pc.fill_null(pc.is_in(columns["rrtype"], pa.array(["A", "AAAA"])), False)
    address = IP.convert(columns["rdata"], "UTC")
    not_address = pc.and_(pc.and_(is_address, pc.is_null(address)), pc.is_null(reason))
    reason = pc.if_else(not_address, pc.binary_join_element_wise(
        "rdata: expected an IPv4 or IPv6 address in an A/AAAA record, got '",
        pc.fill_null(columns["rdata"], ""), "'", ""), reason)
    columns["rdata"] = pc.if_else(is_address, address, columns["rdata"])
    backwards = pc.fill_null(pc.less(columns["time_last"], columns["time_first"]), False)
    reason = pc.if_else(pc.and_(backwards, pc.is_null(reason)), "time_last: the record ends before it starts", reason)
    good = pc.is_null(reason)
    # The records of one line's rdata list sit side by side; a problem of the whole line (a bad
    # name, time or count) is quarantined once, not once per element.
    repeated = pc.and_(pc.equal(records.line_number[1:], records.line_number[:-1]),
                       pc.equal(reason[1:], reason[:-1])) if len(reason) > 1 else pa.array([], pa.bool_())
    bad = pc.and_(pc.is_valid(reason), pc.invert(pa.concat_arrays([pa.array([False]), pc.fill_null(repeated, False)])))
    quarantined = quarantine_rows(records.line_number.filter(bad), records.raw_line.filter(bad), reason.filter(bad))
    return ParsedObject(format="pdns_cof",
                        dns=dns_rows({k: kept(v, good) for k, v in columns.items()}, kept(records.line_number, good)),
                        quarantine=pa.concat_tables([quarantined, not_json]))
