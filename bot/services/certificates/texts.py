"""The printed texts per language: labels, the reason line, the PDF's content.

Every translated certificate text is made here (`translator.t`), nowhere else in the package.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.services.certificates.base import LOCALES
from bot.services.certificates.eligibility import Source
from bot.services.certificates.issue import Plan
from bot.services.certificates.templates import TemplateSettings
from bot.translator import Translator
from db.models import (
    Certificate,
)

if TYPE_CHECKING:
    from bot.services.pdf import PdfContent


# --- printed texts -------------------------------------------------------------------

def signatories_for(translator: Translator, settings: TemplateSettings,
                    locale: str) -> list[tuple[str, str]]:
    people = settings.signatories.get(locale) or settings.signatories.get("*")
    if not people:
        return [(translator.t(locale, "Director"), "")]
    return [(p["title"], p["name"]) for p in people]


def _(msgid: str) -> str:
    """Marks a message id for extraction; `translator.t` translates it where it is printed."""
    return msgid


TEMPLATE_LABELS = {"winner": _("Winner's diploma"), "participant": _("Participant's certificate"),
                   "webinar": _("Webinar attendance certificate"),
                   "series": _("Series completion certificate")}
# What a certificate was given for, by the registry's source and the challenge's kind.
SOURCE_LABELS = {"challenge": _("Challenge"), "action": _("Action"), "contest": _("Contest"),
                 "webinar": _("Webinar"), "series": _("Series of webinars")}


def template_label(translator: Translator, locale: str, template: str) -> str:
    return translator.t(locale, TEMPLATE_LABELS.get(template, TEMPLATE_LABELS["series"]))


def source_label(translator: Translator, locale: str, cert: Certificate) -> str:
    """The registry's "Source" column: the contest's or webinar's kind and name, not a code
    ("Contest «Best report» (No. 12)")."""
    d = cert.details or {}
    kind = d.get("kind") if cert.source_type == "challenge" else cert.source_type
    word = translator.t(locale, SOURCE_LABELS[kind]) if kind in SOURCE_LABELS else cert.source_type
    title = _title(d, locale)
    parts = [word, f"«{title}»" if title else "",
             # "No." in the reader's language (№ in kk/ru), as the certificate prints it
             "(" + translator.t(locale, "No. {number}", number=cert.source_id) + ")"
             if cert.source_id else ""]
    return " ".join(p for p in parts if p)


def place_label(translator: Translator, locale: str, place: str) -> str:
    if place == "grand_prix":
        return translator.t(locale, "Grand Prix")
    if place == "diploma":
        return translator.t(locale, "Laureate")
    return translator.t(locale, "{place} place", place=_roman(place))


def _roman(place: str) -> str:
    return {"1": "I", "2": "II", "3": "III"}.get(place, place)


def _title(details: dict[str, Any], locale: str) -> str:
    titles = details.get("title") or {}
    return titles.get(locale) or titles.get("ru") or titles.get("kk") or ""


def reason_text(translator: Translator, locale: str, cert: Certificate) -> str:
    """One line for /verify and the export: what the certificate was given for."""
    d = cert.details or {}
    parts = [template_label(translator, locale, cert.template), f"«{_title(d, locale)}»"]
    if cert.template == "winner":
        parts.append(place_label(translator, locale, d.get("place", "")))
        parts.extend(n.get(locale) or n.get("kk", "") for n in (d.get("nomination"),
                                                                 d.get("category")) if n)
    if cert.template == "series":
        parts.append(translator.t(locale, "{attended} of {total} webinars",
                            attended=d.get("attended"), total=d.get("total")))
    return " · ".join(p for p in parts if p and p != "«»")


def _winner_body(translator: Translator, locale: str, d: dict[str, Any]) -> list[str]:
    title, place = _title(d, locale), d.get("place")
    if place == "grand_prix":
        line = translator.t(locale, "as the Grand Prix winner of the contest «{title}»",
                      title=title)
    elif place == "diploma":
        line = translator.t(locale, "as a laureate of the contest «{title}»", title=title)
    else:
        line = translator.t(locale, "for {place} place in the contest «{title}»",
                      place=_roman(str(place)), title=title)
    extra = []
    if d.get("nomination"):
        extra.append(translator.t(locale, "Nomination: {name}",
                            name=d["nomination"].get(locale) or d["nomination"].get("kk", "")))
    if d.get("category"):
        extra.append(translator.t(locale, "Age category: {name}",
                            name=d["category"].get(locale) or d["category"].get("kk", "")))
    return [line] + ([" · ".join(extra)] if extra else [])


def _participant_body(translator: Translator, locale: str, d: dict[str, Any]) -> list[str]:
    title = _title(d, locale)
    if d.get("kind") == "action":
        return [translator.t(locale, "took part in the action «{title}»", title=title)]
    if d.get("kind") == "challenge":
        return [translator.t(locale, "took part in the challenge «{title}»", title=title)]
    return [translator.t(locale, "took part in the contest «{title}»", title=title)]


def pdf_content(translator: Translator, cert: Certificate, settings: TemplateSettings,
                bot_username: str, tz: ZoneInfo) -> PdfContent:
    from bot.services.pdf import PdfContent  # reportlab: loaded on first use

    locale, d = cert.locale if cert.locale in LOCALES else "kk", cert.details or {}
    if cert.template == "winner":
        title = translator.t(locale, "DIPLOMA")
        lead = translator.t(locale, "This diploma is awarded to")
        body = _winner_body(translator, locale, d)
    else:
        title = translator.t(locale, "CERTIFICATE")
        lead = translator.t(locale, "This is to certify that")
        if cert.template == "participant":
            body = _participant_body(translator, locale, d)
        elif cert.template == "webinar":
            body = [translator.t(locale, "attended the webinar «{title}» on {date}",
                           title=_title(d, locale), date=d.get("date", ""))]
        elif d.get("title", {}).get(locale):
            body = [translator.t(locale, "attended {attended} of {total} webinars of the series "
                                   "«{title}»", attended=d.get("attended"),
                           total=d.get("total"), title=_title(d, locale))]
        else:
            body = [translator.t(locale, "attended {attended} of {total} webinars of the series",
                           attended=d.get("attended"), total=d.get("total"))]
    number = cert.number or "—"
    return PdfContent(
        centre=translator.t(locale, "Republican Educational and Methodological Centre of "
                              "Additional Education"),
        title=title, lead=lead, name=cert.full_name, org=cert.org_name, body=body,
        number_label=translator.t(locale, "No. {number}", number=number),
        date_label=translator.t(locale, "Date of issue: {date}",
                          date=cert.issued_at.astimezone(tz).strftime("%d.%m.%Y")),
        verify_hint=translator.t(locale, "Scan the QR code to check that it is genuine"),
        qr_url=verify_link(bot_username, number),
        signatories=signatories_for(translator, settings, locale),
        background=settings.background)


def verify_link(bot_username: str, number: str) -> str:
    """The QR code's link: `bot_username` is the bot's username, or PUBLIC_BASE_URL when it
    is set (the public page, bot.web.verify; the caller passes whichever applies)."""
    if bot_username.startswith(("https://", "http://")):
        return f"{bot_username.rstrip('/')}/v/{number}"
    return f"https://t.me/{bot_username}?start=v_{number}"


def render(translator: Translator, cert: Certificate, settings: TemplateSettings,
           bot_username: str, tz: ZoneInfo) -> bytes:
    from bot.services.pdf import render_certificate

    return render_certificate(pdf_content(translator, cert, settings, bot_username, tz))


def sample_certificate(template: str, locale: str, now: datetime, name: str = "",
                       org: str | None = None, details: dict[str, Any] | None = None,
                       ) -> Certificate:
    """An unsaved certificate for previews (number SAMPLE)."""
    demo = {"kk": "Мектеп Парламенті", "ru": "Школьный парламент", "en": "School Parliament"}
    defaults: dict[str, Any] = {"title": demo, "kind": "contest", "place": "1",
                                "date": now.strftime("%d.%m.%Y"), "attended": 12, "total": 15}
    return Certificate(number="SAMPLE", template=template, source_type="preview",
                       full_name=name or "Әлия Құрманова", org_name=org, locale=locale,
                       details=details or defaults, issued_at=now)


def preview_for(source: Source, plan: Plan, now: datetime) -> Certificate | None:
    """The first new certificate of a plan, unsaved (number SAMPLE), for the staff preview."""
    if not plan.new:
        return None
    person, user = plan.new[0]
    return Certificate(number="SAMPLE", template=person.template, source_type=source.kind,
                       source_id=source.id, full_name=user.full_name or "", locale=user.locale,
                       org_name=user.org_name, details=person.details, issued_at=now)


def registry_sheet_name(translator: Translator, locale: str) -> str:
    return translator.t(locale, "Certificates")[:31]


def registry_headers(translator: Translator, locale: str) -> list[str]:
    return [translator.t(locale, "Number"), translator.t(locale, "Template"),
            translator.t(locale, "Name"), translator.t(locale, "Organisation"),
            translator.t(locale, "Reason"), translator.t(locale, "Source"),
            translator.t(locale, "Language"), translator.t(locale, "Issued at"),
            translator.t(locale, "Sent to the queue at"), translator.t(locale, "Revoked at"),
            translator.t(locale, "Revocation reason")]


def waiting_label(translator: Translator, locale: str) -> str:
    return translator.t(locale, "waiting for a guardian's confirmation")


def delivery_caption(translator: Translator, cert: Certificate) -> str:
    replaces = (cert.details or {}).get("replaces")
    message = (_("🎓 Your corrected certificate No. {number}. It replaces No. {old}, which is "
                 "no longer valid. Anyone can check it with /verify {number}") if replaces
               else _("🎓 Your certificate No. {number}. Anyone can check it with /verify "
                      "{number}"))
    return translator.t(cert.locale, message, number=cert.number, old=replaces or "")
