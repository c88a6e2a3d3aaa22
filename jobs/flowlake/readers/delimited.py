"""Readers for the line-delimited flow formats: nfdump CSV (both header generations), Argus
binetflow CSV and AWS VPC flow logs v2.

Columns are found by their header names, not their positions, so a column added by a newer
exporter version does not shift the others. Each format is one `DelimitedFormat` entry.
"""

from __future__ import annotations

import re

import numpy as np
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from flowlake.readers.fields import (
    ARGUS_TCP_STATE, ARGUS_TIME, COUNT, EPOCH_SECONDS, IP, NFDUMP_TIME, PORT, PORT_OR_HEX, PROTOCOL, SECONDS,
    TCP_FLAGS, TEXT, FieldKind, RawRecords, kept, typed_columns,
)
from flowlake.readers.records import ParsedObject, checked_flows, quarantine_rows


@dataclass(frozen=True)
class DelimitedFormat:
    name: str
    header: tuple[str, ...]  # the documented header; detection matches its first columns
    separator: str | None  # None: runs of whitespace
    columns: dict[str, tuple[str, FieldKind]]  # bronze field -> (header column, kind)
    optional: frozenset[str] = frozenset()  # fields that may be empty
    trailer: tuple[str, str] | None = None  # first two lines of a summary block (nfdump's)
    control_column: str | None = None  # records whose value here is in control_values carry no flow
    control_values: tuple[str, ...] = ()
    exporter_field: str | None = None  # a column naming the exporter, else the object's folder
    headerless_pattern: str | None = None  # a first line that shows the format without a header

    def starts_with_header(self, first_line: str) -> bool:
        sep = self.separator or " "
        return first_line.startswith(sep.join(self.header[:5]) + sep)

    def detects(self, first_line: str) -> bool:
        return self.starts_with_header(first_line) or bool(
            self.headerless_pattern and re.match(self.headerless_pattern, first_line))

    def describe_separator(self) -> str:
        return "comma-separated" if self.separator == "," else "space-separated"


# nfdump ends its CSV with "Summary", a header line and one line of totals (absent with -q).
NFDUMP_SUMMARY = ("Summary", "flows,bytes,packets,avg_bps,avg_pps,avg_bpp")

NFDUMP_V1 = DelimitedFormat(
    name="nfdump_csv",
    header=tuple("ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,"
                 "dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,"
                 "mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr".split(",")),
    separator=",",
    columns={"ts": ("ts", NFDUMP_TIME), "ts_end": ("te", NFDUMP_TIME), "src_ip": ("sa", IP),
             "dst_ip": ("da", IP), "src_port": ("sp", PORT), "dst_port": ("dp", PORT),
             "protocol": ("pr", PROTOCOL), "tcp_flags": ("flg", TCP_FLAGS), "packets": ("ipkt", COUNT),
             "bytes": ("ibyt", COUNT)},
    optional=frozenset({"tcp_flags"}),
    trailer=NFDUMP_SUMMARY,
)

NFDUMP_V2 = DelimitedFormat(
    name="nfdump_csv",
    header=tuple("firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows".split(",")),
    separator=",",
    columns={"ts": ("firstSeen", NFDUMP_TIME), "duration": ("duration", SECONDS),
             "protocol": ("proto", PROTOCOL), "src_ip": ("srcAddr", IP), "src_port": ("srcPort", PORT),
             "dst_ip": ("dstAddr", IP), "dst_port": ("dstPort", PORT),
             "packets": ("packets", COUNT), "bytes": ("bytes", COUNT)},
    trailer=NFDUMP_SUMMARY,
)

ARGUS = DelimitedFormat(
    name="argus",
    header=tuple("StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,"
                 "TotBytes,SrcBytes,Label".split(",")),
    separator=",",
    columns={"ts": ("StartTime", ARGUS_TIME), "duration": ("Dur", SECONDS),
             "protocol": ("Proto", PROTOCOL), "src_ip": ("SrcAddr", IP),
             "src_port": ("Sport", PORT_OR_HEX), "dst_ip": ("DstAddr", IP),
             "dst_port": ("Dport", PORT_OR_HEX), "tcp_flags": ("State", ARGUS_TCP_STATE),
             "packets": ("TotPkts", COUNT), "bytes": ("TotBytes", COUNT)},
    # Argus leaves ports empty for protocols without them (ICMP echo summaries, ESP).
    optional=frozenset({"src_port", "dst_port"}),
)

VPC_FLOW_LOG = DelimitedFormat(
    name="vpc_flow_log",
    header=tuple("version account-id interface-id srcaddr dstaddr srcport dstport protocol "
                 "packets bytes start end action log-status".split()),
    separator=None,
    columns={"exporter": ("interface-id", TEXT), "src_ip": ("srcaddr", IP), "dst_ip": ("dstaddr", IP),
             "src_port": ("srcport", PORT), "dst_port": ("dstport", PORT),
             "protocol": ("protocol", PROTOCOL), "packets": ("packets", COUNT),
             "bytes": ("bytes", COUNT), "ts": ("start", EPOCH_SECONDS), "ts_end": ("end", EPOCH_SECONDS)},
    # NODATA (no traffic in the window) and SKIPDATA (AWS dropped records) carry "-" fields.
    control_column="log-status",
    control_values=("NODATA", "SKIPDATA"),
    exporter_field="exporter",
    headerless_pattern=r"^2 [0-9]+ eni-",
)

DELIMITED_FORMATS = (NFDUMP_V1, NFDUMP_V2, ARGUS, VPC_FLOW_LOG)


def _split(fmt: DelimitedFormat, lines: pa.Array, max_splits: int | None = None) -> pa.Array:
    if fmt.separator is None:
        return pc.utf8_split_whitespace(lines)
    return pc.split_pattern(lines, fmt.separator, max_splits=max_splits)


def _split_columns(fmt: DelimitedFormat, lines: pa.Array, needed: int) -> tuple[pa.Array, pa.Array]:
    """Each line's first `needed` columns (a list per line) and its number of columns.

    With a fixed separator the line is split only as far as the columns read (nfdump prints 48,
    flowlake reads the first 15) and the columns are counted by their separators: splitting all
    of them was a sixth of a big object's parse."""
    if fmt.separator is None:
        parts = _split(fmt, lines)
        return parts, pc.list_value_length(parts)
    counts = pc.add(pc.count_substring(lines, fmt.separator), 1)
    return _split(fmt, lines, max_splits=needed), counts


def _trailer_lines(fmt: DelimitedFormat, lines: pa.Array) -> np.ndarray:
    """True for the lines of every summary block (its two fixed lines and the totals line)."""
    marks = np.zeros(len(lines), dtype=bool)
    if fmt.trailer is None or len(lines) < 2:
        return marks
    starts = np.flatnonzero(pc.fill_null(pc.equal(lines[:-1], fmt.trailer[0]), False).to_numpy(zero_copy_only=False)
                            & pc.fill_null(pc.equal(lines[1:], fmt.trailer[1]), False).to_numpy(zero_copy_only=False))
    for offset in range(3):
        marks[np.minimum(starts + offset, len(lines) - 1)] = True
    return marks


def parse_delimited(fmt: DelimitedFormat, lines: pa.Array, line_numbers: pa.Array,
                    timezone: str, exporter: str, sampling_rate: int | None,
                    max_days_from_dump: int) -> ParsedObject:
    """Parse the non-blank `lines` of one object (the first is the header, if it has one)."""
    first = lines[0].as_py()
    has_header = fmt.starts_with_header(first)
    header = _split(fmt, pa.array([first]))[0].as_py() if has_header else list(fmt.header)
    body_start = 1 if has_header else 0
    lines, line_numbers = lines[body_start:], line_numbers[body_start:]
    control = body_start

    not_data = _trailer_lines(fmt, lines)
    if has_header:
        # Concatenated dumps repeat the same header; a different header is quarantined.
        not_data |= pc.fill_null(pc.equal(lines, first), False).to_numpy(zero_copy_only=False)
    if not_data.any():
        control += int(not_data.sum())
        lines, line_numbers = lines.filter(pa.array(~not_data)), line_numbers.filter(pa.array(~not_data))

    missing = [col for col, _ in fmt.columns.values() if col not in header]
    if missing:
        return ParsedObject(format=fmt.name, control_lines=control, quarantine=quarantine_rows(
            line_numbers, lines, f"header has no column {', '.join(missing)} (header: {first[:200]!r})"))

    read = [col for col, _ in fmt.columns.values()] + ([fmt.control_column] if fmt.control_column else [])
    parts, counts = _split_columns(fmt, lines, max(header.index(col) for col in read) + 1)
    well_formed = pc.equal(counts, len(header))
    bad_shape = quarantine_rows(
        line_numbers.filter(pc.invert(well_formed)), lines.filter(pc.invert(well_formed)),
        pc.binary_join_element_wise(
            f"expected {len(header)} {fmt.describe_separator()} columns as in the header, found ",
            pc.cast(counts.filter(pc.invert(well_formed)), pa.string()), ""))
    parts = kept(parts, well_formed)
    records = RawRecords(
        line_number=kept(line_numbers, well_formed), raw_line=kept(lines, well_formed),
        fields={field: pc.list_element(parts, header.index(col)) for field, (col, _) in fmt.columns.items()},
    )

    if fmt.control_column:
        status = pc.list_element(parts, header.index(fmt.control_column))
        is_control = pc.fill_null(pc.is_in(status, pa.array(fmt.control_values)), False)
        control += pc.sum(is_control).as_py() or 0
        records = records.take(pc.invert(is_control))

    spec = {field: kind for field, (_, kind) in fmt.columns.items()}
    columns, reason = typed_columns(records, spec, timezone, fmt.optional)
    if fmt.exporter_field:
        exporter = columns.pop(fmt.exporter_field)
    flows, quarantined = checked_flows(columns, reason, records.line_number, records.raw_line, exporter,
                                       sampling_rate, max_days_from_dump)
    return ParsedObject(format=fmt.name, flows=flows, control_lines=control,
                        quarantine=pa.concat_tables([bad_shape, quarantined]))
