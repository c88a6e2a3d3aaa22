"""What a delivery used, recorded beside it, and the report rendered again from that record.

Every delivery writes `manifest.json` beside its files (`delivery_manifest`): the report and
its as-of day, each table read with its location and Delta version, the service catalog, public
suffix list, geo and ASN database versions, and the report and gold settings it was rendered with.

  flowlake report --config C --reproduce FOLDER

FOLDER is a delivery, `<reports_uri>/<name>/<period>` (a file:// or s3a:// URI, or a local
path). Its manifest is read (`parse_manifest`), the report is rendered again from the recorded
versions by Delta time travel (versionAsOf) with the recorded settings, written to
FOLDER/reproduced/ (the delivered files are never touched), and each file is compared with the
delivered one (`compare_files`: only the generation time may differ). A recorded version whose
log or files are gone stops it with a message naming the table and version: it never renders
from other data. `flowlake maintain` keeps those versions (`flowlake.maintenance`, README
"Reproducing a delivered report").
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime

from flowlake.config import Config
from flowlake.errors import PipelineStopped
from flowlake.reports.document import Report
from flowlake.periods import REPORT_NAMES

MANIFEST = "manifest.json"
REPRODUCED = "reproduced"
# The provenance lines that name reference data rather than a table: a rendering again states
# what the delivery used, not what the tables' properties say today.
REFERENCES = ("service catalog", "public suffix list", "geo database", "ASN database")
GENERATED_AT = re.compile(rb"<dt>generated at</dt><dd>[^<]*</dd>")


class ManifestError(PipelineStopped):
    """A delivery's manifest.json cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Manifest:
    delivery: str  # "<name>/<period>", its folder under reports_uri
    name: str
    as_of: date
    delivered_at: datetime
    tables: dict[str, tuple[str, int]]  # "layer.table" -> (location, Delta version)
    references: dict[str, str]  # REFERENCES -> version
    settings: dict[str, dict]  # "reports", "gold" -> the settings' fields
    pseudonymised: bool = False  # internal addresses shown as pseudonyms


def recorded_settings(config: Config) -> dict:
    """The settings a delivery's manifest records: what renders a report besides the tables."""
    return {"reports": asdict(config.reports), "gold": asdict(config.gold)}


def delivery_manifest(config: Config, report: Report) -> dict:
    """The record a delivery of `report` keeps beside its files (JSON-ready)."""
    return {"delivery": f"{report.name}/{report.window.label}", "name": report.name,
            "as_of": report.window.end.isoformat(), "delivered_at": report.provenance["generated at"],
            "tables": {name: {"location": location, "version": version}
                       for name, (location, version) in report.table_versions.items()},
            "references": {key: report.provenance[key] for key in REFERENCES},
            "settings": recorded_settings(config),
            "pseudonymised": report.pseudonymised}


def parse_manifest(text: bytes | str, uri: str) -> Manifest:
    """The manifest at `uri`; a ManifestError naming `uri` and the key for anything missing or malformed."""
    try:
        raw = json.loads(text)
    except ValueError as err:
        raise ManifestError(f"{uri}: not JSON ({err})") from None

    def field(key: str, kind: type, value=None):
        value = raw.get(key) if value is None else value
        if not isinstance(value, kind):
            raise ManifestError(f"{uri}: {key} is {value!r}, expected a {kind.__name__}")
        return value

    if not isinstance(raw, dict):
        raise ManifestError(f"{uri}: expected a JSON object")
    name = field("name", str)
    if name not in REPORT_NAMES:
        raise ManifestError(f"{uri}: name {name!r} is not one of {', '.join(REPORT_NAMES)}")
    try:
        as_of = date.fromisoformat(field("as_of", str))
        delivered_at = datetime.fromisoformat(field("delivered_at", str))
    except ValueError as err:
        raise ManifestError(f"{uri}: as_of or delivered_at is not an ISO date ({err})") from None
    tables = {}
    for table, entry in field("tables", dict).items():
        where = f"tables.{table}"
        location = field(f"{where}.location", str, entry.get("location") if isinstance(entry, dict) else entry)
        version = field(f"{where}.version", int, entry.get("version"))
        if version < 0:
            raise ManifestError(f"{uri}: {where}.version is {version}, expected a Delta version (0 or more)")
        tables[table] = (location, version)
    if not tables:
        raise ManifestError(f"{uri}: tables is empty: the delivery recorded no table it read")
    references = field("references", dict)
    missing = [key for key in REFERENCES if not isinstance(references.get(key), str)]
    if missing:
        raise ManifestError(f"{uri}: references lacks {', '.join(missing)}")
    settings = field("settings", dict)
    for key in ("reports", "gold"):
        field(f"settings.{key}", dict, settings.get(key))
    return Manifest(field("delivery", str), name, as_of, delivered_at, tables,
                    {key: references[key] for key in REFERENCES}, settings, field("pseudonymised", bool))


def compare_files(delivered: dict[str, bytes | None], reproduced: dict[str, bytes]) -> list[str]:
    """What differs between a delivery's files and their rendering again, one line each
    (none when they agree); report.html's generation time is the one difference allowed."""
    differences = []
    for name in sorted(set(delivered) | set(reproduced)):
        before, after = delivered.get(name), reproduced.get(name)
        if name == "report.html" and before is not None and after is not None:
            before, after = GENERATED_AT.sub(b"", before), GENERATED_AT.sub(b"", after)
        if before is None:
            differences.append(f"{name}: not in the delivery")
        elif after is None:
            differences.append(f"{name}: not rendered again")
        elif before != after:
            differences.append(f"{name}: differs")
    return differences
