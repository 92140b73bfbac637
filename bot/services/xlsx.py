"""Spreadsheets that run nothing when opened: every export writes its rows through `append`.

Cells hold what people typed: names, schools, entries, comments, titles, announcements.
openpyxl stores a string that starts with "=" as a formula, and Excel or LibreOffice run it
when staff open the file (=HYPERLINK(…) or =WEBSERVICE(…) can send the other rows, children's
names and schools, to an outside server; "=cmd|…" is DDE on old set-ups). So:

- every string is written as a text cell (data_type "s"), whatever it starts with: the file
  holds no formula at all, and the value staff see is exactly what was typed (no apostrophe
  or space added to "-Aida" or "+7 701 …", which an added character would spoil);
- a string that starts like a formula (= + - @, or a tab or line break, which spreadsheet
  software skips before reading a formula) is also marked quotePrefix: the XLSX form of the
  apostrophe typed before text in Excel, which keeps the cell text when staff edit it. (A
  file saved again as CSV loses the mark, as it loses every type: that is the spreadsheet
  program's export, not ours.)
- characters an XLSX file cannot hold (C0 controls but tab and line breaks; openpyxl
  refuses them) are removed.

openpyxl is imported here; callers import this module when they export (not at start-up).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ERROR_CODES, Cell

from bot.services.text import CONTROLS

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def text_value(value: str) -> str:
    """What an XLSX cell can hold of a string: control characters (but tab and line breaks)
    removed, at most Excel's 32,767 characters."""
    return CONTROLS.sub("", value)[:32767]


def cell(sheet: Any, value: Any) -> Any:
    """A value ready for `sheet.append`: a string is always a text cell; numbers, dates and
    empty values stay as they are."""
    if not isinstance(value, str):
        return value
    text = text_value(value)
    formula_like = text.lstrip(" ").startswith(FORMULA_START)
    if not formula_like and text not in ERROR_CODES:
        return text  # openpyxl writes any other string as text (and costs less so)
    out = Cell(sheet, row=1, column=1)  # append() sets where it goes
    out.value = text
    out.data_type = "s"  # after the value: openpyxl turns "=…" into a formula on assignment
    out.quotePrefix = formula_like
    return out


def append(sheet: Any, row: Iterable[Any]) -> None:
    """The one way exports add a row (write-only and ordinary worksheets alike)."""
    sheet.append([cell(sheet, value) for value in row])


def to_bytes(book: Workbook) -> bytes:
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def build_xlsx(headers: list[str], rows: Iterable[list[Any]], title: str = "Entries") -> bytes:
    """One sheet: a header row, then the rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])  # Excel's limit for a sheet name
    append(sheet, headers)
    for row in rows:
        append(sheet, row)
    return to_bytes(book)


LINE_PT = 15  # a row of one line, in points
# A column's width counts digits of the regular font; a bold Cyrillic letter of the header is
# about 1.2 of them (seen rendered: "Шығармашылық" cut in a width of 14).
BOLD_LETTER = 1.2


def header_word_width(text: Any) -> int:
    """The width that shows the header's longest word whole, its filter button beside it."""
    longest = max((len(w) for w in str(text).split()), default=0)
    return int(longest * BOLD_LETTER + 0.999) + 2


def wrapped(text: str, width: int) -> list[str]:
    """The lines a header cell `width` wide shows `text` in (word by word, bold)."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and (len(lines[-1]) + 1 + len(word)) * BOLD_LETTER <= width - 2:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def fit_header_height(ws: Any, header: list[Any], widths: list[float]) -> None:
    """Nothing sizes a wrapped row when the file is opened: row 1 gets the height of its
    header's lines, or a two-line heading is drawn over the first row (seen rendered)."""
    ws.row_dimensions[1].height = LINE_PT * max(
        (len(wrapped(h, w)) for h, w in zip(header, widths, strict=False)), default=1)
