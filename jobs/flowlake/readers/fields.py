"""Columnar checking and typing of raw text fields, shared by every raw-format reader.

A reader turns the well-formed records of an object (right column count, valid JSON) into
`RawRecords`: one row per record with its line number, its raw text and its fields as strings.
`typed_columns` then converts the fields with pyarrow compute kernels, whole columns at a time
(no per-row Python), and gives each bad row the reason of its first bad field, naming the
field, what was expected and what was found.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TIMESTAMP = pa.timestamp("us", tz="UTC")
INT64_MAX_TEXT = str(2**63 - 1)

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"^{_OCTET}(\.{_OCTET}){{3}}$"
_UINT = r"^[0-9]+$"
_HEX = r"^0x[0-9a-fA-F]{1,16}$"

PROTOCOL_NUMBERS = {
    "icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51,
    "icmp6": 58, "ipv6-icmp": 58, "sctp": 132,
}
# The names nfdump 1.7 prints for protocols 0..137 (its protoList, index = number; numbers it
# has no name for print as numbers), in CSV exports and in what it converts from nfcapd files.
# nfdump names 35 and 38 both IDPR; its own filter reads IDPR as 35, and so does this.
NFDUMP_PROTOCOL_NAMES = (
    "0 ICMP IGMP GGP IPIP ST TCP CBT EGP IGP BBN NVPII PUP ARGUS ENCOM XNET CHAOS UDP MUX DCN HMP PRM "
    "XNS Trnk1 Trnk2 Leaf1 Leaf2 RDP IRTP ISO-4 NETBK MFESP MEINP DCCP 3PC IDPR XTP DDP IDPR TP++ IL IPv6 "
    "SDRP Rte6 Frag6 IDRP RSVP GRE MHRP BNA ESP AH INLSP SWIPE NARP MOBIL TLSP SKIP ICMP6 NOHE6 OPTS6 HOST "
    "CFTP NET SATNT KLAN RVD IPPC FS SATM VISA IPCV CPNX CPHB WSN PVP BSATM SUNND WBMON WBEXP ISOIP VMTP "
    "SVMTP VINES TTP NSIGP DGP TCF EIGRP OSPF S-RPC LARP MTP AX.25 OS MICP SCCSP ETHIP ENCAP 99 GMTP IFMP "
    "PNNI PIM ARIS SCPS QNX A/N IPcmp SNP CpqPP IPXIP VRRP PGM 0hop L2TP DDX IATP STP SRP UTI SMP SM PTP "
    "ISIS4 FIRE CRTP CRUDP 128 IPLT SPS PIPE SCTP FC 134 MHEAD UDP-L MPLS").split()
for _number, _name in enumerate(NFDUMP_PROTOCOL_NAMES):
    PROTOCOL_NUMBERS.setdefault(_name.lower(), _number)


def kept(values: pa.Array, mask: pa.Array) -> pa.Array:
    """`values.filter(mask)`, without copying when the mask keeps every row, as it does for
    almost every object (filters of whole columns were a fifth of a big object's parse)."""
    return values if pc.all(mask, skip_nulls=False).as_py() is True else values.filter(mask)


@dataclass
class RawRecords:
    """Records of one object before typing; every array has one entry per record."""

    line_number: pa.Array
    raw_line: pa.Array
    fields: dict[str, pa.Array]

    def __len__(self) -> int:
        return len(self.line_number)

    def take(self, mask: pa.Array) -> "RawRecords":
        return RawRecords(
            line_number=kept(self.line_number, mask),
            raw_line=kept(self.raw_line, mask),
            fields={k: kept(v, mask) for k, v in self.fields.items()},
        )


@dataclass(frozen=True)
class FieldKind:
    """How to check and convert one field: `expected` is the wording used in reasons."""

    expected: str
    # A kind whose unrecognised values mean "not carried here", never a bad record.
    accepts_anything = False

    def convert(self, values: pa.Array, timezone: str) -> pa.Array:
        """Typed values; null where the text is not valid."""
        raise NotImplementedError


def _matching(values: pa.Array, pattern: str) -> pa.Array:
    return pc.if_else(pc.match_substring_regex(values, pattern), values, pa.scalar(None, values.type))


def _int64(values: pa.Array) -> pa.Array:
    """Unsigned decimal text that fits int64, as int64; null for anything else."""
    digits = _matching(values, _UINT)
    length = pc.utf8_length(digits)
    # Texts of equal length compare as numbers do, so the bound is checked before any cast.
    fits = pc.or_(pc.less(length, len(INT64_MAX_TEXT)),
                  pc.and_(pc.equal(length, len(INT64_MAX_TEXT)), pc.less_equal(digits, INT64_MAX_TEXT)))
    return pc.cast(pc.if_else(fits, digits, pa.scalar(None, digits.type)), pa.int64())


def _in_range(values: pa.Array, low: int, high: int) -> pa.Array:
    return pc.if_else(pc.and_(pc.greater_equal(values, low), pc.less_equal(values, high)),
                      values, pa.scalar(None, values.type))


@dataclass(frozen=True)
class UnsignedInt(FieldKind):
    maximum: int = 2**63 - 1
    hex_allowed: bool = False

    def convert(self, values, timezone):
        numbers = _in_range(_int64(values), 0, self.maximum)
        if not self.hex_allowed:
            return numbers
        # Argus writes ICMP type/code as hex ("0x0008"); few distinct values, so map uniques.
        # The regex, not int(), decides what is hex: int() also takes "0x_8" and " 0x8".
        hex_values = pc.unique(values.filter(pc.fill_null(pc.match_substring_regex(values, _HEX), False)))
        lookup = {}
        for text in hex_values.to_pylist():
            number = int(text, 16)
            if number <= self.maximum:
                lookup[text] = number
        if not lookup:
            return numbers
        keys = pa.array(list(lookup), values.type)
        hex_numbers = pc.take(pa.array(list(lookup.values()), pa.int64()), pc.index_in(values, keys))
        return pc.coalesce(numbers, hex_numbers)


@dataclass(frozen=True)
class Protocol(FieldKind):
    def convert(self, values, timezone):
        lowered = pc.utf8_lower(pc.utf8_trim_whitespace(values))
        names = pa.array(list(PROTOCOL_NUMBERS), values.type)
        by_name = pc.take(pa.array(list(PROTOCOL_NUMBERS.values()), pa.int64()), pc.index_in(lowered, names))
        by_number = _in_range(pc.cast(_matching(lowered, r"^[0-9]{1,3}$"), pa.int64()), 0, 255)
        return pc.coalesce(by_number, by_name)


@dataclass(frozen=True)
class IpAddress(FieldKind):
    def convert(self, values, timezone):
        values = pc.utf8_trim_whitespace(values)
        v4 = _matching(values, _IPV4)
        # IPv6 is checked and put in canonical form by the standard library, once per
        # distinct text: flows repeat addresses, so this stays off the per-row path.
        maybe_v6 = pc.unique(values.filter(pc.fill_null(pc.match_substring(values, ":"), False)))
        canonical = {}
        for text in maybe_v6.to_pylist():
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            # A zone ("fe80::1%eth0") names an interface of the exporter, not a network address.
            if address.version == 6 and address.scope_id:
                continue
            canonical[text] = address.compressed if address.version == 6 else str(address)
        if not canonical:
            return v4
        keys = pa.array(list(canonical), values.type)
        v6 = pc.take(pa.array(list(canonical.values()), pa.string()), pc.index_in(values, keys))
        return pc.coalesce(pc.cast(v4, pa.string()), v6)


@dataclass(frozen=True)
class LocalTimestamp(FieldKind):
    """`YYYY?MM?DD HH:MM:SS[.fraction]` in the exporter's clock, per `strptime_format`."""

    strptime_format: str = "%Y-%m-%d %H:%M:%S"
    pattern: str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?$"
    # Texts whose every part is within range for every month (day 01..28): strptime cannot
    # roll them over, so only the others need the round trip. Same separators as `pattern`.
    always_valid: str = r"^[1-9][0-9]{3}.(0[1-9]|1[0-2]).(0[1-9]|1[0-9]|2[0-8]) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"

    def convert(self, values, timezone):
        values = _matching(pc.utf8_trim_whitespace(values), self.pattern)
        whole_seconds = pc.utf8_slice_codeunits(values, 0, 19)
        # Unit "s": Arrow's %S prints a fraction for finer units, which would break the round trip.
        seconds = pc.strptime(whole_seconds, format=self.strptime_format, unit="s", error_is_null=True)
        seconds = pc.cast(self._without_rollovers(seconds, whole_seconds), pa.timestamp("us"))
        fraction = pc.utf8_rpad(pc.utf8_slice_codeunits(values, 20, 29), width=9, padding="0")
        nanos = pc.cast(pc.if_else(pc.equal(fraction, ""), "000000000", fraction), pa.int64())
        micros = pc.cast(pc.divide(nanos, 1000), pa.int64())
        local = pc.add(seconds, pc.cast(micros, pa.duration("us")))
        # Exporters that write local time (nfdump, Argus) keep no zone: the zone comes from
        # config. In the hour a DST change repeats, the earlier instant is taken.
        zoned = pc.assume_timezone(local, timezone=timezone, ambiguous="earliest", nonexistent="earliest")
        return pc.cast(zoned, TIMESTAMP)

    def _without_rollovers(self, seconds: pa.Array, texts: pa.Array) -> pa.Array:
        """`seconds` with null where strptime rolled an impossible date over (Feb 30 became
        Mar 2): only texts that print back as they were read are kept. strftime is the parse's
        most costly step, so it runs on the texts `always_valid` does not vouch for (days
        29..31, out-of-range parts), about a tenth of them."""
        doubtful = pc.invert(pc.fill_null(pc.match_substring_regex(texts, self.always_valid), False))
        if not pc.any(doubtful).as_py():
            return seconds
        positions = pc.indices_nonzero(doubtful)
        round_trip = pc.equal(pc.strftime(pc.take(seconds, positions), format=self.strptime_format),
                              pc.take(texts, positions))
        rolled_over = np.zeros(len(seconds), dtype=bool)
        rolled_over[positions.to_numpy()] = ~pc.fill_null(round_trip, False).to_numpy(zero_copy_only=False)
        return pc.if_else(pa.array(rolled_over), pa.scalar(None, seconds.type), seconds)


@dataclass(frozen=True)
class EpochTimestamp(FieldKind):
    """Seconds (or `unit`) since 1970-01-01 UTC, as an unsigned integer; finer than
    microseconds (GoFlow2's nanoseconds) is truncated to the tables' microseconds."""

    unit: str = "s"

    def convert(self, values, timezone):
        numbers = _int64(values)
        per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[self.unit]
        # Years 1990..2100 only: anything else is a corrupt clock, not a flow.
        numbers = _in_range(numbers, 631152000 * per_second, 4102444800 * per_second)
        # A safe cast refuses to drop digits and fails the whole column (every line of the
        # object) when one time is not a whole microsecond, as GoFlow2's receive times are not.
        return pc.cast(pc.cast(numbers, pa.timestamp(self.unit, tz="UTC")),
                       options=pc.CastOptions(TIMESTAMP, allow_time_truncate=True))


@dataclass(frozen=True)
class Seconds(FieldKind):
    """A non-negative duration in (fractional) seconds, as a microsecond duration."""

    def convert(self, values, timezone):
        # Whole and fractional digits are read as integers: float arithmetic would turn
        # "1.001" s into 1001000.0000000001 us.
        parts = pc.extract_regex(pc.utf8_trim_whitespace(values), r"^(?P<whole>[0-9]{1,12})(?:\.(?P<fraction>[0-9]+))?$")
        whole = pc.cast(pc.struct_field(parts, "whole"), pa.int64())
        fraction = pc.fill_null(pc.struct_field(parts, "fraction"), "")
        fraction = pc.utf8_slice_codeunits(pc.utf8_rpad(fraction, width=6, padding="0"), 0, 6)
        micros = pc.add(pc.multiply(whole, 1_000_000), pc.cast(fraction, pa.int64()))
        return pc.cast(micros, pa.duration("us"))


# RFC 793 and RFC 3168 bits, by the letter exporters print for each.
TCP_FLAG_BITS = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16, "U": 32, "E": 64, "C": 128}
_FLAG_LETTERS = "".join(TCP_FLAG_BITS)


def _flag_letters_bitmask(letters: pa.Array) -> pa.Array:
    """The bitmask of every flag letter present in each text (null texts stay null)."""
    total = pa.scalar(0, pa.int64())
    for letter, bit in TCP_FLAG_BITS.items():
        total = pc.add(total, pc.if_else(pc.match_substring(letters, letter), bit, 0))
    return pc.cast(total, pa.int64())


_FLAGS_NUMBER = UnsignedInt("a number 0..255 or 0x hex", maximum=255, hex_allowed=True)


@dataclass(frozen=True)
class TcpFlags(FieldKind):
    """The TCP flags an exporter saw in a flow, as their RFC bitmask (FIN 1, SYN 2, RST 4, PSH 8,
    ACK 16, URG 32, ECE 64, CWR 128): a number (GoFlow2's `tcp_flags`), `0x` hex (nfdump 1.6
    prints flags above 63 so), or letters with dots for the flags not set (nfdump's `.AP.SF`,
    `...A..S.`)."""

    def convert(self, values, timezone):
        values = pc.utf8_trim_whitespace(values)
        as_number = _FLAGS_NUMBER.convert(values, timezone)
        return pc.coalesce(as_number, _flag_letters_bitmask(_matching(values, rf"^[{_FLAG_LETTERS}.]{{6,8}}$")))


@dataclass(frozen=True)
class ArgusTcpState(FieldKind):
    """Argus's `State` of a TCP record, `SRC_DST`: the flags each side sent (`S_RA`: a SYN
    answered by RST+ACK). Gives the source's flags, the side Argus saw start the flow. Other
    states (`CON`, `INT`, `REQ` for UDP and ICMP) carry no flags: null, and not an error."""

    accepts_anything = True

    def convert(self, values, timezone):
        states = _matching(pc.utf8_trim_whitespace(values), rf"^[{_FLAG_LETTERS}]*_[{_FLAG_LETTERS}]*$")
        return _flag_letters_bitmask(pc.list_element(pc.split_pattern(states, "_"), 0))


@dataclass(frozen=True)
class Text(FieldKind):
    """Any non-empty text, trimmed."""

    def convert(self, values, timezone):
        trimmed = pc.cast(pc.utf8_trim_whitespace(values), pa.string())
        return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


COUNT = UnsignedInt("a non-negative 64-bit integer")
PORT = UnsignedInt("a port number 0..65535", maximum=65535)
PORT_OR_HEX = UnsignedInt("a port number 0..65535 (or 0x hex)", maximum=65535, hex_allowed=True)
PROTOCOL = Protocol("an IP protocol number 0..255 or name (TCP, UDP, ICMP, ...)")
IP = IpAddress("an IPv4 or IPv6 address")
NFDUMP_TIME = LocalTimestamp("a time 'YYYY-MM-DD hh:mm:ss[.fff]'")
ARGUS_TIME = LocalTimestamp(
    "a time 'YYYY/MM/DD hh:mm:ss[.ffffff]'", strptime_format="%Y/%m/%d %H:%M:%S",
    pattern=r"^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?$")
EPOCH_SECONDS = EpochTimestamp("seconds since 1970 (a year 1990..2100)")
EPOCH_NANOS = EpochTimestamp("nanoseconds since 1970 (a year 1990..2100)", unit="ns")
SECONDS = Seconds("a non-negative number of seconds")
TEXT = Text("non-empty text")
TCP_FLAGS = TcpFlags("TCP flags: a number 0..255, 0x hex or flag letters such as '.AP.SF'")
ARGUS_TCP_STATE = ArgusTcpState("an Argus state")


def _reason_text(field: str, kind: FieldKind, values: pa.Array) -> pa.Array:
    shown = pc.fill_null(pc.utf8_slice_codeunits(pc.cast(values, pa.string()), 0, 60), "<missing>")
    return pc.binary_join_element_wise(f"{field}: expected {kind.expected}, got '", shown, "'", "")


def typed_columns(records: RawRecords, spec: dict[str, FieldKind], timezone: str,
                  optional: frozenset[str] = frozenset()):
    """Typed columns for `spec` and one reason per record (null where the record is good).

    `optional` fields may be missing (null or blank) without making the record bad.
    """
    columns = {}
    reason = pa.nulls(len(records), pa.string())
    # Walk the fields backwards so the first bad field's reason is the one kept.
    for name in reversed(list(spec)):
        kind, values = spec[name], records.fields[name]
        typed = kind.convert(values, timezone)
        columns[name] = typed
        bad = pc.is_null(typed)
        if kind.accepts_anything:
            continue
        if name in optional:
            blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(values), ""), True)
            bad = pc.and_(bad, pc.invert(blank))
        if pc.any(bad).as_py():  # the reason's text costs a pass over the column: only when needed
            reason = pc.if_else(bad, _reason_text(name, kind, values), reason)
    return {name: columns[name] for name in spec}, reason
