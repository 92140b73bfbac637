"""The public verification page: <PUBLIC_BASE_URL>/v/<number>, where a certificate's QR code
leads when PUBLIC_BASE_URL is set (bot.services.certificates.verify_link).

It shows what /verify shows anyone, and less: genuine, revoked or unknown, the holder as
"Aida N." (certs.public_name; a minor still waiting for a guardian's confirmation by no name
at all), what the certificate was given for and the date. No region, no school, no reason
of a revocation (staff's free text). The only personal thing in its URLs is the number.

Language: ?lang=kk|ru|en, else the browser's Accept-Language, else DEFAULT_LOCALE. Rate
limited per client address (`IpLimiter`): a number that matches nothing counts like a
/verify miss, so the page cannot be used to walk the old 20-bit numbers either.
"""

from __future__ import annotations

import html
import ipaddress
import re
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot import labels
from bot.app import App
from bot.config import SUPPORTED_LOCALES
from bot.services import certificates as certs
from bot.services.guardian import as_seen_by_others

PATH = "/v/{number}"
MAX_NUMBER = 64  # longer is not a number: answered "unknown" without a query
PAGES_PER_MINUTE = 30  # per client address: plenty for people, little for a script
MISSES_PER_HOUR = 20  # numbers that match nothing, per address (as /verify per person)
VERIFY_APP_KEY: web.AppKey[App] = web.AppKey("verify_app", App)
Status = Literal["genuine", "revoked", "unknown"]


@dataclass(frozen=True)
class Verdict:
    status: Status
    number: str
    name: str = ""
    event: str = ""
    issued: str = ""
    revoked: str = ""


async def verdict(app: App, number: str, locale: str) -> Verdict:
    """What the page says about `number`, in `locale` (within the i18n context, as
    `verify_page` calls it): the same reading /verify makes."""
    shown = certs.normalize_number(number)[:40]
    if len(number) > MAX_NUMBER:
        return Verdict("unknown", shown)
    async with app.sessionmaker() as session:
        cert = await certs.find(session, number)
        if cert is None:
            return Verdict("unknown", shown)
        waiting = await certs.holder_waiting(session, cert)
    name, _org = as_seen_by_others(waiting, certs.public_name(cert.full_name), "",
                                   str(labels.WAITING_FOR_GUARDIAN))
    tz = app.settings.tz
    revoked = cert.revoked_at.astimezone(tz).strftime("%d.%m.%Y") if cert.revoked_at else ""
    return Verdict("revoked" if revoked else "genuine", cert.number or shown, name,
                   certs.reason_text(app.translator, locale, cert),
                   cert.issued_at.astimezone(tz).strftime("%d.%m.%Y"), revoked)


# --- language -------------------------------------------------------------------------

_LANG_RE = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][\w-]*)?\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def page_locale(query_lang: str | None, accept_language: str | None, default: str) -> str:
    """?lang= first, then the best of Accept-Language the bot speaks, then `default`."""
    if query_lang in SUPPORTED_LOCALES:
        return query_lang
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        m = _LANG_RE.match(part)
        if not m:
            continue
        try:
            q = float(m[2]) if m[2] else 1.0
        except ValueError:
            continue
        if m[1].lower() in SUPPORTED_LOCALES and q > 0:
            ranked.append((-q, i, m[1].lower()))
    return min(ranked)[2] if ranked else default


# --- rate limit -----------------------------------------------------------------------

class IpLimiter:
    """Per client address: PAGES_PER_MINUTE pages, MISSES_PER_HOUR unknown numbers. Per
    process (each instance counts its own): nginx's limit_req is the shared first line."""

    LIMIT = 10_000  # addresses remembered; beyond, those idle longest are forgotten

    def __init__(self) -> None:
        self._pages: dict[str, deque[datetime]] = {}
        self._misses: dict[str, deque[datetime]] = {}

    @staticmethod
    def _recent(table: dict[str, deque[datetime]], who: str, since: datetime,
                ) -> deque[datetime]:
        if len(table) > IpLimiter.LIMIT:
            for key in [k for k, times in table.items() if not times or times[-1] < since]:
                del table[key]
        times = table.setdefault(who, deque())
        while times and times[0] < since:
            times.popleft()
        return times

    def allow(self, who: str, now: datetime) -> bool:
        """Counts this page; False when the address is over either limit."""
        if len(self._recent(self._misses, who, now - timedelta(hours=1))) >= MISSES_PER_HOUR:
            return False
        pages = self._recent(self._pages, who, now - timedelta(minutes=1))
        if len(pages) >= PAGES_PER_MINUTE:
            return False
        pages.append(now)
        return True

    def miss(self, who: str, now: datetime) -> None:
        self._recent(self._misses, who, now - timedelta(hours=1)).append(now)


LIMITER_KEY: web.AppKey[IpLimiter] = web.AppKey("verify_limiter", IpLimiter)


def client_address(request: web.Request) -> str:
    """The peer, or X-Real-IP when the peer is the local reverse proxy (deploy/nginx sets
    it); a client elsewhere cannot pick its own address by sending the header."""
    peer = request.remote or ""
    forwarded = request.headers.get("X-Real-IP", "").strip()
    try:
        local = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        local = False
    return forwarded if local and forwarded else peer


# --- the page -------------------------------------------------------------------------

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",  # names, even in part, stay out of search engines
    "Cache-Control": "no-store",  # a revocation shows at once
}
COLOURS = {"genuine": "#1e7a34", "revoked": "#b3261e", "unknown": "#6b6b6b",
           "limited": "#8a5a00"}
STYLE = """body{font-family:"DejaVu Sans",Arial,sans-serif;margin:0;background:#f4f5f7;
color:#1d1d1f}main{max-width:34rem;margin:2rem auto;background:#fff;border-radius:12px;
box-shadow:0 2px 10px rgba(0,0,0,.08);overflow:hidden}header{color:#fff;padding:1.4rem 1.6rem}
h1{margin:0;font-size:1.5rem}dl{margin:0;padding:1.2rem 1.6rem}dt{color:#6b6b6b;
font-size:.85rem;margin-top:.8rem}dd{margin:.2rem 0 0;font-size:1.1rem}p{padding:0 1.6rem;
line-height:1.5}nav{padding:1rem 1.6rem;border-top:1px solid #eee;font-size:.9rem}
nav a{margin-right:1rem;color:#1d4ed8}nav b{margin-right:1rem}"""


def _headline(v: Verdict) -> str:
    if v.status == "genuine":
        return _("The certificate is genuine")
    if v.status == "revoked":
        return _("The certificate was revoked on {date}").format(date=v.revoked)
    return _("No certificate has this number")


def _details(v: Verdict) -> str:
    rows = [(_("Certificate number"), v.number)]
    if v.status != "unknown":
        rows += [(_("Issued to"), v.name), (_("Awarded for"), v.event),
                 (_("Issued on"), v.issued)]
    body = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(val or '—')}</dd>"
                   for k, val in rows)
    note = ""
    if v.status == "unknown":
        note = "<p>" + html.escape(_("Check the number printed under the QR code. A genuine "
                                     "certificate is always in the registry.")) + "</p>"
    return f"<dl>{body}</dl>{note}"


def _languages(locale: str) -> str:
    links = []
    for code in SUPPORTED_LOCALES:
        label = {"kk": "Қазақша", "ru": "Русский", "en": "English"}[code]
        links.append(f"<b>{label}</b>" if code == locale else
                     f'<a href="?lang={code}" hreflang="{code}">{label}</a>')
    return "<nav>" + "".join(links) + "</nav>"


def render_page(locale: str, headline: str, colour: str, content: str) -> str:
    title = _("Certificate check")
    return (f'<!DOCTYPE html><html lang="{locale}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="robots" content="noindex, nofollow"><title>{html.escape(title)}'
            f"</title><style>{STYLE}</style></head><body><main>"
            f'<header style="background:{colour}"><h1 id="status">{html.escape(headline)}</h1>'
            f"</header>{content}{_languages(locale)}</main></body></html>")


async def verify_page(request: web.Request) -> web.Response:
    app = request.app[VERIFY_APP_KEY]
    locale = page_locale(request.query.get("lang"), request.headers.get("Accept-Language"),
                         app.settings.default_locale)
    with app.i18n.context(), app.i18n.use_locale(locale):
        return await _answer(request, app, locale)


async def _answer(request: web.Request, app: App, locale: str) -> web.Response:
    who, limiter = client_address(request), request.app[LIMITER_KEY]
    if not limiter.allow(who, app.now()):
        text = _("Too many checks from your network. Please try again in an hour.")
        body = render_page(locale, text, COLOURS["limited"], "")
        return web.Response(status=429, text=body, content_type="text/html",
                            headers={**HEADERS, "Retry-After": "3600"})
    v = await verdict(app, request.match_info["number"], locale)
    if v.status == "unknown":
        limiter.miss(who, app.now())
    body = render_page(locale, _headline(v), COLOURS[v.status], _details(v))
    return web.Response(status=404 if v.status == "unknown" else 200, text=body,
                        content_type="text/html", headers=HEADERS)


def add_verify_page(web_app: web.Application, app: App) -> None:
    """GET /v/<number> on `web_app` (the webhook's server, or `build_page_app`'s)."""
    web_app[VERIFY_APP_KEY] = app
    web_app[LIMITER_KEY] = IpLimiter()
    web_app.router.add_get(PATH, verify_page)


def build_page_app(app: App) -> web.Application:
    """The page alone, for polling mode (there is no webhook server to carry it)."""
    web_app = web.Application()
    add_verify_page(web_app, app)
    return web_app
