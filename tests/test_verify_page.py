"""The public verification page (bot/web/verify.py): the QR code of a certificate leads to
PUBLIC_BASE_URL/v/<number>, which says genuine / revoked / unknown in kk, ru and en, with
the holder's name masked as /verify masks it, and refuses an address that asks too much.

The HTTP-client tests always run; one test opens the pages in a real headless Chromium
(Debian's `chromium` package) and is skipped, saying so, where that is not installed.
Set VERIFY_SCREENSHOTS=<folder> to keep its screenshots (verify-kk.png, ...)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image
from sqlalchemy import select, update

from bot.scheduler import certificates_tick
from bot.services import certificates as certs
from bot.web.verify import MISSES_PER_HOUR, PAGES_PER_MINUTE, build_page_app, page_locale
from bot.webhook import build_web_app
from db.models import Certificate, User
from tests.harness import BotHarness, Clock, make_harness
from tests.test_certificates import attend, sent_documents, student, webinar

BASE = "https://bot.example.kz"
NAME = "Әлия Ғабитқызы Құрманова"
MASKED = "Әлия Ғ. Қ."
STATUS = {  # the headline of each status, per language
    ("genuine", "kk"): "Сертификаттың түпнұсқалығы расталды",
    ("genuine", "ru"): "Сертификат подлинный",
    ("genuine", "en"): "The certificate is genuine",
    ("revoked", "kk"): "Сертификаттың күші",
    ("revoked", "ru"): "Сертификат отозван",
    ("revoked", "en"): "The certificate was revoked on",
    ("unknown", "kk"): "Бұл нөмірмен сертификат табылмады",
    ("unknown", "ru"): "Сертификата с таким номером нет",
    ("unknown", "en"): "No certificate has this number",
}


@pytest.fixture
async def hp(db_url: str, clock: Clock) -> AsyncIterator[BotHarness]:
    harness = await make_harness(db_url, clock, public_base_url=BASE + "/")
    yield harness
    await harness.close()


@pytest.fixture
async def client(hp: BotHarness) -> AsyncIterator[TestClient]:
    c = TestClient(TestServer(build_page_app(hp.app)))
    await c.start_server()
    yield c
    await c.close()


async def issued(h: BotHarness, tg_id: int = 101, name: str = NAME) -> Certificate:
    wid = await webinar(h, title="Өзін-өзі басқару")
    await attend(h, wid, await student(h, tg_id, name))
    async with h.app.sessionmaker() as s:
        await certs.issue(s, certs.Source("webinar", wid), None, h.app.now(), h.app.settings.tz)
        await s.commit()
        return await s.scalar(select(Certificate).where(Certificate.source_id == wid))


async def revoke(h: BotHarness, number: str, reason: str = "issued to the wrong school") -> None:
    async with h.app.sessionmaker() as s:
        await certs.revoke(s, number, None, reason, h.app.now())
        await s.commit()


async def page(client: TestClient, path: str, **headers: str) -> tuple[int, str]:
    resp = await client.get(path, headers=headers)
    return resp.status, await resp.text()


def issued_on(h: BotHarness, cert: Certificate) -> str:
    return cert.issued_at.astimezone(h.app.settings.tz).strftime("%d.%m.%Y")


# --- what the page says -----------------------------------------------------------------

async def test_the_qr_code_of_a_sent_certificate_opens_the_page(hp, client):
    cert = await issued(hp)
    await certificates_tick(hp.app)
    await hp.drain()
    [doc] = sent_documents(hp, 101)
    image = pypdfium2.PdfDocument(doc.files["document"])[0].render(scale=2).to_pil()
    [link] = [r.text for r in zxingcpp.read_barcodes(image)]
    assert link == f"{BASE}/v/{cert.number}"  # the number, nothing else about the holder

    status, text = await page(client, link.removeprefix(BASE), **{"Accept-Language": "ru"})
    assert status == 200
    assert STATUS["genuine", "ru"] in text and cert.number in text
    assert MASKED in text and "Құрманова" not in text and "Ғабитқызы" not in text
    assert "Самоуправление" in text and issued_on(hp, cert) in text
    assert "№ 7 мектеп-гимназиясы" not in text  # the school is not shown


async def test_without_a_public_address_the_qr_code_opens_the_bot(h):
    cert = await issued(h)
    await certificates_tick(h.app)
    await h.drain()
    [doc] = sent_documents(h, 101)
    image = pypdfium2.PdfDocument(doc.files["document"])[0].render(scale=2).to_pil()
    [link] = [r.text for r in zxingcpp.read_barcodes(image)]
    assert link.startswith("https://t.me/") and link.endswith(f"?start=v_{cert.number}")
    client = TestClient(TestServer(build_web_app(h.app)))
    await client.start_server()
    try:
        assert (await client.get(f"/v/{cert.number}")).status == 404  # no page is served
    finally:
        await client.close()


async def test_the_webhook_server_serves_the_page(hp):
    cert = await issued(hp)
    client = TestClient(TestServer(build_web_app(hp.app)))
    await client.start_server()
    try:
        status, text = await page(client, f"/v/{cert.number}?lang=en")
    finally:
        await client.close()
    assert status == 200 and STATUS["genuine", "en"] in text and MASKED in text


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
async def test_genuine_revoked_and_unknown_in_each_language(hp, client, lang):
    kept, revoked = await issued(hp, 101), await issued(hp, 102, "Данияр Сейітов")
    await revoke(hp, revoked.number)

    status, text = await page(client, f"/v/{kept.number}?lang={lang}")
    assert status == 200 and STATUS["genuine", lang] in text and f'lang="{lang}"' in text
    status, text = await page(client, f"/v/{revoked.number}?lang={lang}")
    assert status == 200 and STATUS["revoked", lang] in text
    assert "Данияр С." in text and "Сейітов" not in text
    assert "wrong school" not in text  # staff's reason stays with /verify
    revoked_on = hp.app.now().astimezone(hp.app.settings.tz).strftime("%d.%m.%Y")
    assert revoked_on in text
    status, text = await page(client, f"/v/D26-AAAA-BBBB-CCCC-DDDD?lang={lang}")
    assert status == 404 and STATUS["unknown", lang] in text
    assert "D26-AAAA-BBBB-CCCC-DDDD" in text and "Әлия" not in text


async def test_language_from_the_browser_and_a_lowercase_number(hp, client):
    cert = await issued(hp)
    lower = f"/v/{cert.number.lower()}"
    assert STATUS["genuine", "en"] in (await page(
        client, lower, **{"Accept-Language": "de-DE,de;q=0.9,en-US;q=0.8,ru;q=0.5"}))[1]
    assert STATUS["genuine", "ru"] in (await page(
        client, lower, **{"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"}))[1]
    assert STATUS["genuine", "kk"] in (await page(client, lower))[1]  # DEFAULT_LOCALE
    # ?lang= wins over the browser
    assert STATUS["genuine", "en"] in (await page(
        client, lower + "?lang=en", **{"Accept-Language": "ru"}))[1]
    assert page_locale("xx", "fr, kk;q=0.1, ru;q=0.2, en;q=0", "en") == "ru"
    assert page_locale(None, "garbage;q=x, ,;", "kk") == "kk"


async def test_a_minor_waiting_for_a_guardian_is_shown_by_no_name(hp, client):
    cert = await issued(hp)
    async with hp.app.sessionmaker() as s:
        await s.execute(update(User).where(User.id == cert.user_id).values(limited=True))
        await s.commit()
    status, text = await page(client, f"/v/{cert.number}?lang=en")
    assert status == 200 and STATUS["genuine", "en"] in text
    assert "waiting for a guardian" in text and "Әлия" not in text


async def test_the_page_is_not_cached_indexed_or_scripted(hp, client):
    cert = await issued(hp)
    resp = await client.get(f"/v/{cert.number}")
    assert resp.headers["Cache-Control"] == "no-store"  # a revocation shows at once
    assert "noindex" in resp.headers["X-Robots-Tag"]
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert "<script" not in await resp.text()


async def test_markup_in_the_stored_texts_is_shown_as_text(hp, client):
    cert = await issued(hp, name="<b>Bold</b> <script>x</script>")
    _, text = await page(client, f"/v/{cert.number}?lang=en")
    assert "&lt;b&gt;Bold&lt;/b&gt;" in text and "<script>" not in text
    _, text = await page(client, "/v/<i>D26?lang=en")
    assert "<i>" not in text


# --- rate limit -------------------------------------------------------------------------

async def test_guessing_numbers_is_stopped_per_address(hp, client, clock):
    cert = await issued(hp)
    guesser, other = {"X-Real-IP": "203.0.113.7"}, {"X-Real-IP": "198.51.100.2"}
    for i in range(MISSES_PER_HOUR):
        status, _ = await page(client, f"/v/D26-AAAA-BBBB-CCCC-{i:04d}", **guesser)
        assert status == 404
    status, text = await page(client, f"/v/{cert.number}?lang=en", **guesser)
    assert status == 429 and "Too many checks" in text and "Әлия" not in text
    status, text = await page(client, f"/v/{cert.number}?lang=en", **other)
    assert status == 200 and MASKED in text  # another address is not held up

    clock.advance(minutes=61)
    assert (await page(client, f"/v/{cert.number}", **guesser))[0] == 200


async def test_too_many_pages_a_minute_are_refused(hp, client, clock):
    cert = await issued(hp)
    who = {"X-Real-IP": "203.0.113.9"}
    for _ in range(PAGES_PER_MINUTE):
        assert (await page(client, f"/v/{cert.number}", **who))[0] == 200
    resp = await client.get(f"/v/{cert.number}", headers=who)
    assert resp.status == 429 and resp.headers["Retry-After"]
    clock.advance(minutes=2)
    assert (await page(client, f"/v/{cert.number}", **who))[0] == 200


async def test_x_real_ip_counts_only_from_the_local_proxy(hp):
    from bot.web.verify import client_address

    class Req:
        def __init__(self, remote: str) -> None:
            self.remote, self.headers = remote, {"X-Real-IP": "10.1.1.1"}

    assert client_address(Req("127.0.0.1")) == "10.1.1.1"  # type: ignore[arg-type]
    assert client_address(Req("192.0.2.50")) == "192.0.2.50"  # type: ignore[arg-type]


# --- in a real browser ------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync",
         "--hide-scrollbars", "--window-size=720,640"]


async def open_in_chromium(url: str, screenshot: Path) -> str:
    """The page's DOM after rendering, and its screenshot at `screenshot`."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        proc = await asyncio.create_subprocess_exec(
            CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={screenshot}",
            "--dump-dom", url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


def header_colour_share(png: Path, colour: str) -> float:
    """The share of the screenshot's pixels in the status banner's colour."""
    rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    with Image.open(png) as image:
        counts = {colour: n for n, colour in image.convert("RGB").getcolors(1 << 24)}
        return counts.get(rgb, 0) / (image.width * image.height)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get "
                                             "install chromium); the HTTP-client tests above "
                                             "still cover the page")
async def test_the_page_in_a_real_browser(hp, tmp_path):
    from bot.web.verify import COLOURS

    kept, revoked = await issued(hp, 101), await issued(hp, 102, "Данияр Сейітов")
    await revoke(hp, revoked.number)
    runner = web.AppRunner(build_page_app(hp.app), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    keep = Path(os.environ["VERIFY_SCREENSHOTS"]) if os.environ.get("VERIFY_SCREENSHOTS") \
        else tmp_path
    keep.mkdir(parents=True, exist_ok=True)
    cases = [("genuine", lang, kept.number, f"verify-{lang}.png") for lang in ("kk", "ru", "en")]
    cases += [("revoked", "ru", revoked.number, "revoked-ru.png"),
              ("unknown", "en", "D26-AAAA-BBBB-CCCC-DDDD", "unknown-en.png")]
    try:
        for status, lang, number, name in cases:
            shot = keep / name
            shot.unlink(missing_ok=True)
            dom = await open_in_chromium(f"http://127.0.0.1:{port}/v/{number}?lang={lang}",
                                         shot)
            assert STATUS[status, lang] in dom, (status, lang, dom[:500])
            if status == "genuine":
                assert MASKED in dom and "Құрманова" not in dom
            assert shot.stat().st_size > 5000  # a page, not an empty frame
            with Image.open(shot) as image:
                assert len(image.convert("L").getcolors(256)) > 16  # text, not one colour
            # the banner in the status's colour is drawn: green, red or grey
            assert header_colour_share(shot, COLOURS[status]) > 0.02, (status, name)
    finally:
        await runner.cleanup()


async def test_polling_mode_serves_the_page_on_the_web_port(hp):
    from aiohttp import ClientSession

    from bot.runner import serve_verify_page

    cert = await issued(hp)
    hp.app.settings.webhook_port = free_port()
    runner = await serve_verify_page(hp.app)
    assert runner is not None
    try:
        async with ClientSession() as http, http.get(
                f"http://127.0.0.1:{hp.app.settings.webhook_port}/v/{cert.number}?lang=en") as r:
            assert r.status == 200 and STATUS["genuine", "en"] in await r.text()
    finally:
        await runner.cleanup()
    hp.app.settings.public_base_url = None
    assert await serve_verify_page(hp.app) is None  # no PUBLIC_BASE_URL: no server at all
