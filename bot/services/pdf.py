"""Certificate PDFs: A4 landscape, DejaVu Sans embedded (Kazakh letters), vector QR code.

Pure rendering: gets already translated strings, returns the PDF bytes. No I/O but reading
the bundled fonts once and the background's file, cached in the bot's private data folder.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import segno
from reportlab import rl_config
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONTS_DIR = Path(__file__).resolve().parent.parent / "assets" / "fonts"
REGULAR, BOLD = "CertSans", "CertSans-Bold"
PAGE_W, PAGE_H = landscape(A4)
MARGIN = 70.0
NAVY = Color(0.09, 0.22, 0.45)
GOLD = Color(0.78, 0.62, 0.22)
INK = Color(0.12, 0.12, 0.16)
# reportlab's registered fonts keep a read position in the font file while a PDF's subset is
# cut from it: two certificates saved at once in the delivery queue's threads read each
# other's glyphs (KeyError, a failed delivery). One PDF at a time; the GIL allowed no more.
_RENDERING = threading.Lock()


@dataclass(frozen=True)
class PdfContent:
    """Everything printed on one certificate, already in the recipient's language."""

    centre: str
    title: str
    lead: str
    name: str
    org: str | None
    body: list[str]
    number_label: str
    date_label: str
    verify_hint: str
    qr_url: str
    signatories: list[tuple[str, str]] = field(default_factory=list)  # (title, name)
    background: bytes | str | None = None  # the JPEG, or the path of a JPEG file


def background_digest(jpeg: bytes) -> str:
    return hashlib.sha1(jpeg).hexdigest()


def _background_folder() -> Path:
    from bot.datadir import private_folder

    return private_folder("certificate-backgrounds")


def background_path(digest: str) -> str | None:
    """The file `background_file` wrote for this digest, if it is (still) there."""
    if not re.fullmatch(r"[0-9a-f]{40}", digest or ""):
        return None
    path = _background_folder() / f"{digest}.jpg"
    return str(path) if path.exists() else None


_fonts_ready = False


def register_fonts() -> None:
    global _fonts_ready
    if _fonts_ready:
        return
    pdfmetrics.registerFont(TTFont(REGULAR, str(FONTS_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(FONTS_DIR / "DejaVuSans-Bold.ttf")))
    rl_config.useA85 = 0  # binary streams: ASCII85 only makes every PDF a quarter larger
    _fonts_ready = True


def background_file(jpeg: bytes) -> str:
    """The background as a JPEG file named by its content.

    Given a file name, reportlab copies the JPEG into the PDF as it is; given bytes, it
    decodes the whole picture for every certificate (slow, and ~10 MB of memory each).
    """
    from bot.datadir import write_private_file

    path = _background_folder() / f"{background_digest(jpeg)}.jpg"
    if not path.exists():
        write_private_file(path, jpeg)
    return str(path)


def render_certificate(content: PdfContent) -> bytes:
    with _RENDERING:
        return _render(content)


def _render(content: PdfContent) -> bytes:
    register_fonts()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(PAGE_W, PAGE_H), pageCompression=1, invariant=1)
    c.setTitle(f"{content.title} {content.number_label}")
    c.setAuthor(content.centre)
    if isinstance(content.background, str):
        c.drawImage(content.background, 0, 0, PAGE_W, PAGE_H)
    elif content.background:
        c.drawImage(background_file(content.background), 0, 0, PAGE_W, PAGE_H)
    else:
        _frame(c)
    c.setFillColor(INK)
    width = PAGE_W - 2 * MARGIN
    y = PAGE_H - MARGIN - 16
    y = _centred(c, content.centre, REGULAR, 12, y, width, leading=15, color=NAVY)
    y -= 52
    y = _centred(c, content.title, BOLD, 42, y, width, leading=46, color=NAVY)
    y -= 22
    y = _centred(c, content.lead, REGULAR, 15, y, width, leading=19)
    y -= 20
    y = _centred(c, content.name, BOLD, _fit(content.name, BOLD, 28, width), y, width,
                 leading=32)
    if content.org:
        y = _centred(c, content.org, REGULAR, 13, y - 2, width, leading=17)
    y -= 16
    for paragraph in content.body:
        y = _centred(c, paragraph, REGULAR, 15, y, width, leading=21)
    _signatories(c, content.signatories)
    _qr_block(c, content)
    c.showPage()
    c.save()
    return buf.getvalue()


def _frame(c: Canvas) -> None:
    c.setStrokeColor(NAVY)
    c.setLineWidth(6)
    c.rect(22, 22, PAGE_W - 44, PAGE_H - 44, stroke=1, fill=0)
    c.setStrokeColor(GOLD)
    c.setLineWidth(1.5)
    c.rect(34, 34, PAGE_W - 68, PAGE_H - 68, stroke=1, fill=0)


def _fit(text: str, font: str, size: float, width: float) -> float:
    """A font size at which `text` fits on one line (not below 16 pt; then it wraps)."""
    while size > 16 and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 1
    return size


def _centred(c: Canvas, text: str, font: str, size: float, y: float, width: float,
             leading: float, color: Color = INK) -> float:
    """Draw wrapped centred lines starting at baseline y; returns the next baseline."""
    c.setFont(font, size)
    c.setFillColor(color)
    for line in simpleSplit(text, font, size, width):
        c.drawCentredString(PAGE_W / 2, y, line)
        y -= leading
    return y


def _signatories(c: Canvas, people: list[tuple[str, str]]) -> None:
    if not people:
        return
    slot = min(210.0, 420.0 / min(len(people), 3))  # the number and QR code take the right
    x = MARGIN
    for title, name in people[:3]:
        lines = simpleSplit(title, REGULAR, 9, slot - 20)[:3]
        c.setFillColor(INK)
        c.setFont(REGULAR, 9)
        for i, line in enumerate(lines):  # bottom-aligned above the signature line
            c.drawString(x, 96 + (len(lines) - 1 - i) * 11, line)
        c.setStrokeColor(INK)
        c.setLineWidth(0.6)
        c.line(x, 76, x + slot - 24, 76)
        c.setFont(BOLD, 10)
        c.drawString(x, 62, name)
        x += slot


def _qr_block(c: Canvas, content: PdfContent) -> None:
    size = 92.0
    x, y = PAGE_W - MARGIN - size, 50.0
    draw_qr(c, content.qr_url, x, y, size)
    c.setFillColor(INK)
    right = x - 10
    c.setFont(BOLD, 10)
    c.drawRightString(right, y + 62, content.number_label)
    c.setFont(REGULAR, 9)
    c.drawRightString(right, y + 48, content.date_label)
    c.setFont(REGULAR, 8)
    for i, line in enumerate(simpleSplit(content.verify_hint, REGULAR, 8, 170)[:2]):
        c.drawRightString(right, y + 30 - i * 10, line)


def draw_qr(c: Canvas, data: str, x: float, y: float, size: float) -> None:
    """The QR code as vector rectangles (runs of dark modules) on a white quiet zone.

    Drawn in module units with integer operators written directly (addLiteral): formatting
    a few hundred float rectangles through reportlab costs more than the rest of the page.
    """
    # A fixed mask is as valid as the "best" one and skips scoring all eight (half the time).
    qr = segno.make(data, error="m", micro=False, mask=0)
    n = qr.symbol_size(scale=1, border=0)[0]
    quiet = 4
    module = size / (n + 2 * quiet)
    c.setFillColor(Color(1, 1, 1))
    c.rect(x, y, size, size, stroke=0, fill=1)
    ops = []
    for row_index, row in enumerate(qr.matrix):
        top = n - 1 - row_index
        col = 0
        while col < n:
            if row[col] & 1:
                start = col
                while col < n and row[col] & 1:
                    col += 1
                ops.append(f"{start} {top} {col - start} 1 re")
            else:
                col += 1
    c.saveState()
    c.translate(x + quiet * module, y + quiet * module)
    c.scale(module, module)
    c.setFillColor(Color(0, 0, 0))
    c.addLiteral("\n".join(ops) + "\nf")
    c.restoreState()
