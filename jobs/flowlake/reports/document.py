"""A report as data (headlines, sections with a chart and the table behind it, provenance) and
its files: one self-contained `report.html` (charts inline as PNG data URIs, no external
resource), each chart as a PNG and each table as a CSV.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import jinja2
import pandas as pd
from markupsafe import Markup

from flowlake.periods import ReportWindow

# Rows of a table shown in the HTML; its CSV holds them all.
HTML_TABLE_ROWS = 40

TEMPLATE = jinja2.Environment(autoescape=True).from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ report.title }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } .window { color: #666; margin-top: 0; }
.headlines { background: #f4f6fa; border-left: 4px solid #3b5998; padding: 0.6em 1.2em; }
.headlines li { margin: 0.3em 0; font-size: 1.05em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; } .csv { font-size: 0.8em; color: #666; }
footer { border-top: 1px solid #ccc; margin-top: 2em; font-size: 0.8em; color: #555; }
footer dt { font-weight: bold; float: left; clear: left; width: 14em; } footer dd { margin-left: 15em; }
</style></head>
<body>
<h1>{{ report.title }}</h1>
<p class="window">{{ report.window.start }} to {{ report.window.end }}{% if report.window.previous_start %},
compared with {{ report.window.previous_start }} to {{ report.window.previous_end }}{% endif %}</p>
{% if report.headlines %}<ul class="headlines">{% for line in report.headlines %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
{% for section in report.sections %}
<section>
<h2>{{ section.title }}</h2>
{% for paragraph in section.paragraphs %}<p>{{ paragraph }}</p>{% endfor %}
{% if section.chart %}<img src="data:image/png;base64,{{ section.chart_base64 }}" alt="{{ section.title }}">{% endif %}
{% if section.table is not none %}{{ section.table_html }}
<p class="csv">The numbers: {{ section.name }}.csv{% if section.hidden_rows %} ({{ section.hidden_rows }} more rows there){% endif %}</p>{% endif %}
</section>
{% endfor %}
<footer><h3>Provenance</h3><dl>
{% for key, value in report.provenance.items() %}<dt>{{ key }}</dt><dd>{{ value }}</dd>
{% endfor %}</dl></footer>
</body></html>
""")


@dataclass
class Section:
    name: str  # file stem of its chart and CSV
    title: str
    paragraphs: list[str] = field(default_factory=list)
    chart: bytes | None = None
    table: pd.DataFrame | None = None

    @property
    def chart_base64(self) -> str:
        return base64.b64encode(self.chart).decode("ascii")

    @property
    def table_html(self) -> Markup:
        # pandas escapes every cell (escape=True), so the table's markup goes in as it is.
        return Markup(self.table.head(HTML_TABLE_ROWS).to_html(index=False, escape=True, border=0,
                                                               float_format=lambda v: f"{v:,.3f}"))

    @property
    def hidden_rows(self) -> int:
        return max(0, len(self.table) - HTML_TABLE_ROWS)


@dataclass
class Report:
    name: str
    title: str
    window: ReportWindow
    headlines: list[str]
    sections: list[Section]
    provenance: dict[str, str]
    # "layer.table" -> (location, Delta version read): what a delivery records to be reproduced.
    table_versions: dict[str, tuple[str, int]] = field(default_factory=dict)
    # Whether internal addresses appear as pseudonyms: a reproduction must render them so again.
    pseudonymised: bool = False


def render_html(report: Report) -> str:
    return TEMPLATE.render(report=report)


def report_files(report: Report) -> dict[str, bytes]:
    """File name -> bytes, for everything a report publishes."""
    files = {"report.html": render_html(report).encode("utf-8")}
    for section in report.sections:
        if section.chart:
            files[f"{section.name}.png"] = section.chart
        if section.table is not None:
            files[f"{section.name}.csv"] = spreadsheet_safe(section.table).to_csv(index=False).encode("utf-8")
    return files


# A spreadsheet runs a cell starting with one of these as a formula (OWASP, "CSV Injection"):
# a domain name or hostname in a report is data from the network, so anyone can plant one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with every text cell a spreadsheet would run as a formula prefixed by `'`, which
    makes it text; numbers (negative ones too) stay numbers, as they are not strings."""
    def neutralised(value):
        return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value

    text = [c for c in table.columns if pd.api.types.is_string_dtype(table[c])]
    return table.assign(**{c: table[c].map(neutralised) for c in text}) if text else table
