"""CSV exports that a spreadsheet opens safely (open data, DISC-9; the evaluation annual report).

CSV injection (OWASP "CSV Injection"): a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is run as a formula by Excel, WPS and LibreOffice — e.g. a party name or conclusion
``=HYPERLINK(…)`` sent by a departmental system and exported from the public portal. Such text cells
get a leading single quote, so they are shown as text. Numbers (int, float, Decimal) are left alone:
``-5`` is a value, not a formula, and quoting it would turn it into text.
"""
from __future__ import annotations

import csv
import decimal
import io

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str | int | float | decimal.Decimal:
    if value is None:
        return ""
    if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(rows) -> str:
    """The rows as CSV text with a UTF-8 BOM (so spreadsheets read Chinese correctly), every cell safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return "\ufeff" + out.getvalue()
