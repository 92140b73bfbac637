"""Texts of webinars: the wizard's prompts and buttons, a card, the list and the registrants.

Pure functions of what they are given (no I/O); they speak the language of the update in
hand through aiogram's `_()`.
"""

from __future__ import annotations

import html
from datetime import tzinfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n import ngettext

from bot import labels
from bot.i18n import fmt_dt, fmt_int
from bot.services import webinars as svc
from bot.services.guardian import as_seen_by_others
from bot.services.places import PlaceDirectory
from bot.services.text import TEXT_LIMIT, seen_length, short_html, take_lines
from db.models import User, Webinar, WebinarRegistration
from handlers.shared.texts import NAME_SHOWN

PROMPTS = {
    "title_kk": __("Send the title in Kazakh."),
    "title_ru": __("Send the title in Russian."),
    "title_en": __("Send the title in English, or press “Skip” (the Russian one will be "
                   "shown instead)."),
    "description_kk": __("Send the description in Kazakh."),
    "description_ru": __("Send the description in Russian."),
    "description_en": __("Send the description in English, or press “Skip”."),
    "starts_at": __("When does it start? Type the date and time in Almaty time, for example "
                    "12.03.2026 15:00 or 2026-03-12 15:00."),
    "duration": __("How long will it last? Type minutes (90) or hours and minutes (1:30)."),
    "join_url": __("Send the link to join (Zoom, Teams, Meet…), starting with https://"),
    "speakers": __("List the speakers, one per line or separated by commas, or press "
                   "“Skip”."),
    "audience": __("Who is it for? Tick roles, organisation types, factions, positions and "
                   "regions; with nothing ticked it is for everyone. Then press “Done”."),
    "capacity": __("Is the number of places limited? Type a number, or press “No limit”."),
    "offsets": __("When should registrants be reminded? Type times before the start, for "
                  "example 24h, 1h, 0 (0 = at the start), or press “Default”."),
}
SKIP_BUTTONS = {
    "title_en": __("Skip ➡️"),
    "description_en": __("Skip ➡️"),
    "speakers": __("Skip ➡️"),
    "capacity": __("No limit"),
    "offsets": __("Default: 24 h, 1 h and at the start"),
}
EDIT_FIELDS = {
    "starts_at": __("🕒 Date and time"),
    "duration": __("⏱ Duration"),
    "join_url": __("🔗 Link"),
    "capacity": __("👥 Places"),
    "offsets": __("⏰ Reminders"),
}


def duration_text(minutes: int) -> str:
    return _("{n} min").format(n=minutes)


def offsets_text(offsets: list[int]) -> str:
    parts = []
    for minutes in offsets:
        if minutes == 0:
            parts.append(_("at the start"))
        elif minutes >= 2880 and minutes % 1440 == 0:
            parts.append(_("{n} d").format(n=minutes // 1440))
        elif minutes % 60 == 0:
            parts.append(_("{n} h").format(n=minutes // 60))
        elif minutes > 60:
            parts.append(_("{h} h {m} min").format(h=minutes // 60, m=minutes % 60))
        else:
            parts.append(_("{n} min").format(n=minutes))
    return ", ".join(parts) or "—"


def audience_sections(places: PlaceDirectory,
                      locale: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """The wizard's audience buttons: (key, [(value, label)]) per section."""
    return [
        ("roles", [(k, str(labels.ROLE[k])) for k in ("student", "coordinator")]),
        ("org_types", [(k, str(v)) for k, v in labels.ORG_TYPE.items()]),
        ("factions", [(k, str(v)) for k, v in labels.FACTION.items()]),
        ("positions", [(k, str(v)) for k, v in labels.POSITION.items()]),
        ("regions", [(str(p.id), p.name(locale)) for p in places.regions]),
    ]


def audience_text(audience: dict[str, list], places: PlaceDirectory, locale: str) -> str:
    aud = svc.clean_audience(audience)
    if not aud:
        return _("everyone")
    tables = {"roles": labels.ROLE, "org_types": labels.ORG_TYPE, "factions": labels.FACTION,
              "positions": labels.POSITION}
    parts = []
    for key in svc.AUDIENCE_KEYS:
        if key not in aud:
            continue
        if key == "regions":
            names = [html.escape(p.name(locale)) for r in aud[key]
                     if (p := places.region_from(str(r)))]
        else:
            names = [labels.label(tables[key], v) for v in aud[key]]
        parts.append(", ".join(names))
    return "; ".join(parts)


def card_text(w: Webinar, locale: str, tz: tzinfo, places: PlaceDirectory, *,
              registered_count: int | None, reg: WebinarRegistration | None,
              staff: bool) -> str:
    lines = [f"<b>{html.escape(w.text('title', locale))}</b>"]
    if staff and w.id:
        lines[0] += " · " + _("No. {id}").format(id=w.id)
    if w.status == "cancelled":
        lines.append(_("❌ Cancelled"))
    lines.append(_("📅 {when} (Almaty time) · {duration}").format(
        when=fmt_dt(w.starts_at, locale, tz), duration=duration_text(w.duration_min)))
    if w.speakers:
        lines.append(_("🎤 Speakers ({n}): {names}").format(
            n=len(w.speakers), names=html.escape(", ".join(w.speakers))))
    if registered_count is not None:
        if w.capacity:
            lines.append(ngettext("👥 Registered: {n} of {cap} place",
                                  "👥 Registered: {n} of {cap} places", w.capacity).format(
                n=fmt_int(registered_count, locale), cap=fmt_int(w.capacity, locale)))
        else:
            lines.append(_("👥 Registered: {n}").format(n=fmt_int(registered_count, locale)))
    lines += ["", html.escape(w.text("description", locale))]
    if staff:
        lines += ["", _("Link: {url}").format(url=html.escape(w.join_url)),
                  _("Audience: {audience}").format(audience=audience_text(w.audience, places,
                                                                          locale)),
                  _("Reminders before the start: {offsets}").format(
                      offsets=offsets_text(w.reminder_offsets))]
    if reg is not None and reg.status == "registered":
        lines += ["", _("✅ You are registered.")]
        if reg.attended_at is not None:
            lines.append(_("✋ Your attendance is recorded."))
    return "\n".join(lines)


def webinar_list(items: list[Webinar], locale: str,
                 tz: tzinfo) -> tuple[str, list[tuple[int, str]]]:
    """/webinars: the text and the (webinar id, button text) of each upcoming one."""
    lines = [_("<b>Upcoming webinars</b> (Almaty time):"), ""]
    buttons = []
    for w in items:
        when = fmt_dt(w.starts_at, locale, tz)
        title = w.text("title", locale)
        lines.append(f"• {when} — {html.escape(title)}")
        short = w.starts_at.astimezone(tz).strftime("%d.%m %H:%M")
        buttons.append((w.id, f"{short} · {title}"))
    lines += ["", _("Choose a webinar to see details and register.")]
    return "\n".join(lines), buttons


def registrants_text(webinar: Webinar, rows: list[tuple[User, WebinarRegistration]],
                     places: PlaceDirectory, locale: str) -> str:
    """Counts, registrants by region, and the first names (the rest: /export_webinar)."""
    stats = svc.registrant_stats(rows)
    lines = [f"<b>{html.escape(webinar.text('title', locale))}</b>",
             _("Registered: {n}, attended: {m}.").format(n=fmt_int(stats.registered, locale),
                                                         m=fmt_int(stats.attended, locale))]
    if stats.by_region:
        lines += ["", _("By region (registered / attended):")]
        for region_id, registered, attended in stats.by_region:
            place = places.region(region_id)
            name = place.name(locale) if place else _("no region")
            lines.append(f"• {html.escape(name)}: {registered} / {attended}")
    if rows:
        lines += ["", _("Registrants:")]
        def mark(reg: WebinarRegistration) -> str:
            return "✋" if reg.attended_at else "•"

        names = [f"{mark(reg)} {short_html(name, NAME_SHOWN)}" for user, reg in rows[:50]
                 for name, _org in (as_seen_by_others(user.limited, user.full_name, None,
                                                      str(labels.WAITING_FOR_GUARDIAN)),)]
        hidden = len(rows) - len(names)

        def more(n: int) -> str:
            return _("…and {n} more: /export_webinar {id}").format(n=n + hidden, id=webinar.id)

        shown = take_lines(names, TEXT_LIMIT - seen_length("\n".join(lines)) - 10, more)
        if hidden and len(shown) == len(names):
            shown.append(more(0))
        lines += shown
    return "\n".join(lines)
