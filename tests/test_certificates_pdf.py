"""Certificate PDFs: texts in each language (extracted from the PDF), Kazakh letters, and a
QR code that decodes to the verification link (the page is rendered to pixels with pypdfium2
and the QR read back with zxing-cpp)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pypdfium2
import pytest
import zxingcpp
from pypdf import PdfReader

from bot.i18n import create_i18n
from bot.services import certificates as certs
from bot.services.pdf import PdfContent, render_certificate
from db.models import Certificate

TZ = ZoneInfo("Asia/Almaty")
I18N = create_i18n()
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
TITLE = {"kk": "Біздің Мектеп Парламенті", "ru": "Наш Школьный парламент",
         "en": "Our School Parliament"}


def text_of(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def cert(template: str, locale: str, details: dict, name: str = "Әлия Ғабитқызы Құрманова",
         ) -> Certificate:
    return Certificate(number="D26-000042-K7QF", template=template, source_type="challenge",
                       full_name=name, org_name="№ 7 мектеп-гимназиясы", locale=locale,
                       details=details, issued_at=NOW)


def render(c: Certificate, settings: certs.TemplateSettings | None = None) -> bytes:
    return certs.render(I18N, c, settings or certs.TemplateSettings(c.template),
                        "mektep_parliament_bot", TZ)


WINNER = {"title": TITLE, "kind": "contest", "place": "2",
          "nomination": {"kk": "Үздік бейне", "ru": "Лучшее видео", "en": "Best video"},
          "category": {"kk": "14–17 жас", "ru": "14–17 лет", "en": "14–17 years"}}


@pytest.mark.parametrize(("locale", "expected"), [
    ("kk", ["ДИПЛОМ", "Біздің Мектеп Парламенті", "II орын", "Номинация: Үздік бейне",
            "Жас санаты: 14–17 жас", "Республикалық қосымша білім беру",
            "Берілген күні: 02.03.2026"]),
    ("ru", ["ДИПЛОМ", "Наш Школьный парламент", "за II место", "Номинация: Лучшее видео",
            "Возрастная категория: 14–17 лет", "Республиканский учебно-методический центр"]),
    ("en", ["DIPLOMA", "Our School Parliament", "for place II", "Nomination: Best video"]),
], ids=["kk", "ru", "en"])
def test_winner_diploma_in_each_language(locale, expected):
    text = text_of(render(cert("winner", locale, WINNER)))
    for piece in [*expected, "Әлия Ғабитқызы Құрманова", "D26-000042-K7QF",
                  "№ 7 мектеп-гимназиясы"]:
        assert piece in text, (piece, text)


@pytest.mark.parametrize(("template", "details", "kk", "ru"), [
    ("participant", {"title": TITLE, "kind": "contest"},
     "«Біздің Мектеп Парламенті» байқауына қатысқаны үшін марапатталады",
     "принял(а) участие в конкурсе"),
    ("webinar", {"title": TITLE, "date": "01.03.2026"},
     "01.03.2026 күні өткен «Біздің Мектеп Парламенті» вебинарына қатысқаны үшін марапатталады",
     "в вебинаре"),
    ("series", {"title": {"kk": "Көшбасшы", "ru": "Көшбасшы", "en": "Көшбасшы"},
                "attended": 12, "total": 15},
     "«Көшбасшы» циклінің 15 вебинарының 12 вебинарына қатысқаны үшін марапатталады",
     "посетил(а) вебинары цикла «Көшбасшы» (12 из 15)"),
    ("participant", {"title": TITLE, "kind": "action"},
     "«Біздің Мектеп Парламенті» акциясына қатысқаны үшін марапатталады", "в акции"),
], ids=["participant", "webinar", "series", "action"])
def test_other_templates_in_kazakh_and_russian(template, details, kk, ru):
    """The Kazakh certificate says «Осы сертификатпен [name] … марапатталады», as the diploma
    does: a «-ғанын растайды» clause would need the name in the genitive, which a template
    cannot add."""
    kazakh = " ".join(text_of(render(cert(template, "kk", details))).split())
    assert "Осы сертификатпен Әлия Ғабитқызы Құрманова № 7 мектеп-гимназиясы " + kk in kazakh
    assert "растайды" not in kazakh
    assert ru in " ".join(text_of(render(cert(template, "ru", details))).split())


def test_every_kazakh_letter_survives():
    letters = "Ә Ғ Қ Ң Ө Ұ Ү Һ І ә ғ қ ң ө ұ ү һ і"
    text = text_of(render(cert("participant", "kk", {"title": TITLE}, name=letters)))
    assert letters in text
    assert b"/FontFile2" in render(cert("participant", "kk", {"title": TITLE}))  # embedded


def test_qr_code_decodes_to_the_verification_link():
    pdf = render(cert("winner", "kk", WINNER))
    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=2).to_pil()
    found = [r.text for r in zxingcpp.read_barcodes(image)]
    assert found == ["https://t.me/mektep_parliament_bot?start=v_D26-000042-K7QF"]


def test_signatories_and_default_director():
    settings = certs.TemplateSettings("winner", signatories=certs.parse_signatories(
        "Директор | А. Сейітов\nОрынбасар | Б. Нұрланова"))
    text = text_of(render(cert("winner", "ru", WINNER), settings))
    assert "А. Сейітов" in text and "Б. Нұрланова" in text
    assert "Директор" in text_of(render(cert("winner", "kk", WINNER)))


def test_a_long_name_still_fits():
    name = "Әлия-Ғабитқызы " * 8
    pdf = render_certificate(PdfContent(
        centre="C", title="T", lead="L", name=name.strip(), org=None, body=["B"],
        number_label="N", date_label="D", verify_hint="V", qr_url="https://t.me/x"))
    assert "Әлия-Ғабитқызы" in text_of(pdf)


def test_certificates_rendered_at_once_in_threads_are_each_whole(monkeypatch):
    """The delivery queue renders certificates in worker threads (asyncio.to_thread, up to 8
    senders). reportlab cuts each PDF's font subset from one shared font object that keeps a
    read position: two at once read each other's glyphs (KeyError 539 seen in a bulk issue
    of 70 diplomas). A slowed subset step shows whether two ever overlap."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from reportlab.pdfbase.ttfonts import TTFontFile

    inside, most, guard = [0], [0], threading.Lock()
    original = TTFontFile.makeSubset

    def slow_subset(self, subset):
        with guard:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            time.sleep(0.02)  # lets another thread run here, as a busy worker would
            return original(self, subset)
        finally:
            with guard:
                inside[0] -= 1

    monkeypatch.setattr(TTFontFile, "makeSubset", slow_subset)
    names = [f"Әлия Құрманова {n}" for n in range(6)]
    with ThreadPoolExecutor(6) as pool:
        pdfs = list(pool.map(lambda n: render(cert("winner", "kk", WINNER, name=n)), names))
    assert most[0] == 1
    for name, pdf in zip(names, pdfs, strict=True):
        assert name in text_of(pdf)
