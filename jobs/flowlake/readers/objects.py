"""Turn one raw object's bytes into bronze rows: decompress, tell the format, parse.

`parse_object(key, content, source, exporter)` is the single entry point. The format comes
from config (`sources[].format`) or, on `auto`, from the header of an nfcapd file (binary,
converted to nfdump CSV by nfdump, readers/nfcapd.py) or else from the first non-blank line.
An object that cannot be read at all raises `UnreadableObject` with the reason; so does one
whose bytes, decompressed, pass `max_decompressed_bytes` (bronze.max_decompressed_mib): reading
stops there, so a gzip bomb costs a worker the bound, not what it expands to.
"""

from __future__ import annotations

import json
import zlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowlake.config import Source
from flowlake.readers.delimited import DELIMITED_FORMATS, NFDUMP_V1, NFDUMP_V2, parse_delimited
from flowlake.readers.fields import kept
from flowlake.readers.jsonlines import is_goflow2, is_pdns, parse_goflow2, parse_pdns
from flowlake.readers.nfcapd import is_nfcapd, nfdump_csv, unsampled
from flowlake.readers.records import ParsedObject, UnreadableObject

GZIP_MAGIC = b"\x1f\x8b"
DEFAULT_MAX_DECOMPRESSED_BYTES = 2048 * 2**20  # BronzeSettings.max_decompressed_mib's default


class ObjectTooLarge(UnreadableObject):
    """The object's decompressed bytes pass the configured bound; reading stopped there."""


def decompressed(content: bytes, max_bytes: int) -> bytes:
    """The object's bytes, gunzipped if they are gzip (every member of a multi-member file).

    Inflates at most max_bytes + 1 bytes: an object that expands past `max_bytes` raises
    ObjectTooLarge as soon as it does, never holding more than the bound."""
    if not content.startswith(GZIP_MAGIC):
        if len(content) > max_bytes:
            raise ObjectTooLarge(f"{len(content):,} bytes, more than the bound of {max_bytes:,}")
        return content
    parts, size, data = [], 0, content
    while data.startswith(GZIP_MAGIC):
        inflater, pending = zlib.decompressobj(wbits=31), data
        while True:
            try:
                part = inflater.decompress(pending, max_bytes - size + 1)
            except zlib.error as err:
                raise UnreadableObject(f"corrupt gzip data: {err}") from None
            size += len(part)
            if size > max_bytes:
                raise ObjectTooLarge(f"decompresses to more than the bound of {max_bytes:,} bytes "
                                     f"(read {len(content) - len(inflater.unconsumed_tail):,} of its "
                                     f"{len(content):,} compressed bytes, then stopped): a gzip bomb or a dump "
                                     f"too large for one worker")
            parts.append(part)
            pending = inflater.unconsumed_tail
            if inflater.eof:
                break
            if not pending and not part:
                raise UnreadableObject("truncated gzip: the compressed stream ends before its end marker")
        data = inflater.unused_data
    return b"".join(parts)


def numbered_lines(text: str) -> tuple[pa.Array, pa.Array, int]:
    """Non-blank lines, their 1-based line numbers, and how many blank lines were dropped."""
    # The newline that ends the last line starts no line of its own.
    lines = pc.split_pattern(pa.array([text.removesuffix("\n")], pa.large_string()), "\n").flatten()
    lines = pc.utf8_rtrim(lines, "\r")
    numbers = pa.array(np.arange(1, len(lines) + 1, dtype=np.int64))
    blank = pc.equal(pc.utf8_trim_whitespace(lines), "")
    keep = pc.invert(blank)
    lines, numbers = kept(lines, keep), kept(numbers, keep)
    return pc.cast(lines, pa.string()), numbers, pc.sum(blank).as_py()


def detect_format(first_line: str) -> str:
    """The format name a first line shows, or raise UnreadableObject."""
    for fmt in DELIMITED_FORMATS:
        if fmt.detects(first_line):
            return fmt.name
    if first_line.lstrip().startswith("{"):
        try:
            record = json.loads(first_line)
        except ValueError:
            record = {}
        if isinstance(record, dict) and is_pdns(record):
            return "pdns_cof"
        if isinstance(record, dict) and is_goflow2(record):
            return "goflow2_json"
    raise UnreadableObject(f"unknown format: the first line does not match any supported format "
                           f"(nfdump CSV, GoFlow2 JSON, VPC flow log, Argus, passive DNS COF): {first_line[:120]!r}")


def parse_object(key: str, content: bytes, source: Source, exporter: str,
                 max_days_from_dump: int = 2, nfdump: str = "nfdump",
                 max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES) -> ParsedObject:
    """Parse one object. `key` is only for messages; `exporter` names it where the format does not;
    flow records further than `max_days_from_dump` days from the dump's median day are quarantined;
    `nfdump` is the binary that converts nfcapd files; an object larger than
    `max_decompressed_bytes` once decompressed is unreadable."""
    try:
        data = decompressed(content, max_decompressed_bytes)
    except ObjectTooLarge as err:
        raise ObjectTooLarge(f"{key}: {err} (bronze.max_decompressed_mib)") from None
    if source.format == "nfcapd" or (source.format == "auto" and is_nfcapd(data)):
        return parse_nfcapd(key, data, source, exporter, max_days_from_dump, nfdump)
    if not data.strip():
        raise UnreadableObject("empty object: no lines after decompression")
    # Invalid UTF-8 (binary junk) is kept visible as U+FFFD so its line can still be quarantined.
    lines, numbers, blank = numbered_lines(data.decode("utf-8", errors="replace"))
    fmt = source.format if source.format != "auto" else detect_format(lines[0].as_py())
    if fmt in ("nfdump_csv", "argus", "vpc_flow_log"):
        candidates = [f for f in DELIMITED_FORMATS if f.name == fmt]
        delimited = next((f for f in candidates if f.detects(lines[0].as_py())), candidates[0])
        if fmt == "nfdump_csv" and not delimited.detects(lines[0].as_py()):
            raise UnreadableObject(f"{key}: configured as nfdump_csv but the header is neither "
                                   f"{','.join(NFDUMP_V1.header[:5])}... nor {','.join(NFDUMP_V2.header[:5])}...")
        parsed = parse_delimited(delimited, lines, numbers, source.timezone, exporter, source.sampling_rate,
                                 max_days_from_dump)
    elif fmt == "goflow2_json":
        parsed = parse_goflow2(lines, numbers, exporter, source.sampling_rate, max_days_from_dump)
    else:
        parsed = parse_pdns(lines, numbers)
    parsed.control_lines += blank
    return parsed


def parse_nfcapd(key: str, data: bytes, source: Source, exporter: str, max_days_from_dump: int,
                 nfdump: str) -> ParsedObject:
    """An nfcapd file through nfdump, then the nfdump CSV reader. Line numbers are those of
    nfdump's CSV output (its header is line 1); times are UTC whatever the source's timezone
    says, since nfcapd stores epoch times and nfdump prints them in TZ=UTC here."""
    text, rates = nfdump_csv(key, data, nfdump)
    if "No matching flows" in text.splitlines():
        # An idle interval: nfdump prints this line between its header and an all-zero summary.
        return ParsedObject(format="nfcapd", control_lines=len(text.splitlines()))
    if not NFDUMP_V1.starts_with_header(text):
        raise UnreadableObject(f"nfdump printed no CSV header {','.join(NFDUMP_V1.header[:5])}... but {text[:120]!r}")
    lines, numbers, blank = numbered_lines(text)
    parsed = parse_delimited(NFDUMP_V1, lines, numbers, "UTC", exporter, source.sampling_rate, max_days_from_dump)
    parsed = unsampled(parsed, lines, numbers, rates)
    parsed.format = "nfcapd"
    parsed.control_lines += blank
    return parsed
