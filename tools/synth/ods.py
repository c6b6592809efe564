"""Write a synthetic return as a minimal OpenDocument spreadsheet (.ods), by hand."""

# A hand-written zip is a few lines, fast for 60,000 rows (odfpy builds a DOM of every
# cell), and lets a formula be written with no cached value.

from __future__ import annotations

import datetime
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from tools.synth.model import Cell, Formula, SyntheticReturn
from tools.synth.zips import FixedTimeZipFile

MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
FIXED_TIME = "2000-01-01T00:00:00"

_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" '
    'office:version="1.2"'
)

# Dates display as yyyy-mm-dd, like the .xlsx writers' number format.
_AUTOMATIC_STYLES = (
    "<office:automatic-styles>"
    '<number:date-style style:name="N1">'
    '<number:year number:style="long"/><number:text>-</number:text>'
    '<number:month number:style="long"/><number:text>-</number:text>'
    '<number:day number:style="long"/></number:date-style>'
    '<style:style style:name="ce1" style:family="table-cell" style:data-style-name="N1"/>'
    "</office:automatic-styles>"
)

_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
    'manifest:version="1.2">'
    f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{MIMETYPE}"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    '<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>'
    '<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)

_STYLES = f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-styles {_NS}/>'

_META = (
    f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta {_NS}><office:meta>'
    "<meta:generator>returns_kit.synth</meta:generator>"
    f"<meta:creation-date>{FIXED_TIME}</meta:creation-date>"
    f"<dc:date>{FIXED_TIME}</dc:date>"
    "</office:meta></office:document-meta>"
)

_REF = re.compile(r"\$?[A-Z]{1,3}\$?[0-9]+(?::\$?[A-Z]{1,3}\$?[0-9]+)?")


def _open_formula(text: str) -> str:
    """ "=SUM(D2:I2)" as OpenFormula: "of:=SUM([.D2:.I2])" (plain references only)."""

    def ref(m: re.Match[str]) -> str:
        return "[" + ":".join("." + part for part in m[0].split(":")) + "]"

    return "of:" + _REF.sub(ref, text)


def _cell(value: Cell) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, Formula):
        # No office:value: the formula has never been calculated.
        return f"<table:table-cell table:formula={quoteattr(_open_formula(value.text))}/>"
    if isinstance(value, bool):
        raise TypeError("booleans are not return values")
    if isinstance(value, int | float):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value!r}">'
            f"<text:p>{value!r}</text:p></table:table-cell>"
        )
    if isinstance(value, datetime.date):
        iso = value.isoformat()
        return (
            '<table:table-cell table:style-name="ce1" office:value-type="date" '
            f'office:date-value="{iso}"><text:p>{iso}</text:p></table:table-cell>'
        )
    return (
        f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p>'
        "</table:table-cell>"
    )


def _content(ret: SyntheticReturn) -> str:
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {_NS}>',
        _AUTOMATIC_STYLES,
        "<office:body><office:spreadsheet>",
    ]
    for name, grid in ret.sheets.items():
        parts.append(f"<table:table table:name={quoteattr(name)}>")
        width = max((len(row) for row in grid), default=1) or 1
        parts.append(f'<table:table-column table:number-columns-repeated="{width}"/>')
        for row in grid:
            cells = "".join(_cell(v) for v in row) or "<table:table-cell/>"
            parts.append(f"<table:table-row>{cells}</table:table-row>")
        parts.append("</table:table>")
    parts.append("</office:spreadsheet></office:body></office:document-content>")
    return "".join(parts)


def write_ods(ret: SyntheticReturn, path: Path) -> None:
    """Write ``ret`` to ``path`` as an OpenDocument spreadsheet."""
    with FixedTimeZipFile(Path(path), "w", zipfile.ZIP_DEFLATED) as zf:
        # The mimetype member comes first and uncompressed, so tools can sniff the type.
        zf.writestr("mimetype", MIMETYPE, compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", _MANIFEST)
        zf.writestr("meta.xml", _META)
        zf.writestr("styles.xml", _STYLES)
        zf.writestr("content.xml", _content(ret))
