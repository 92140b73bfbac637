"""Texts of the coordinator invites: the scope, the link's card, the typed arguments."""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot import labels
from bot.i18n import fmt_dt
from bot.services.numbers import typed_int
from bot.services.places import Place, PlaceDirectory
from db.models import Invite


def scope_text(level: str, region: Place | None, district: Place | None, locale: str) -> str:
    parts = [labels.label(labels.LEVEL, level)]
    if region:
        parts.append(region.name(locale))
    if district:
        parts.append(district.name(locale))
    return html.escape(" — ".join(parts))


def invite_text(invite: Invite, link: str, places: PlaceDirectory, tz: ZoneInfo,
                locale: str) -> str:
    scope = scope_text(invite.level or "", places.region(invite.region_id),
                       places.district(invite.district_id), locale)
    until = fmt_dt(invite.expires_at, locale, tz) if invite.expires_at else "—"
    return ngettext(
        "Invite link for a coordinator:\n{link}\n\nScope: {scope}\nValid until: {until}\n"
        "Can be used: {uses} time\n\nSend it only to the person it is meant for: "
        "whoever opens it becomes a coordinator without approval.",
        "Invite link for a coordinator:\n{link}\n\nScope: {scope}\nValid until: {until}\n"
        "Can be used: {uses} times\n\nSend it only to the person it is meant for: "
        "whoever opens it becomes a coordinator without approval.", invite.max_uses or 0).format(
        link=link, scope=scope, until=until, uses=invite.max_uses)


def invite_usage() -> str:
    return _("Usage:\n/invite — step by step\n/invite regional &lt;region code&gt; [days] "
             "[uses]\n/invite district &lt;region code&gt; &lt;district number or name&gt; "
             "[days=N] [uses=N]")


def parse_invite_args(args: str, places: PlaceDirectory, locale: str) -> dict[str, object] | str:
    """`regional <region> [days] [uses]` or `district <region> <district no. or name>
    [days=N] [uses=N]`; returns the parsed scope or an error message (a number written with
    digits other than 0-9 raises DomainError)."""
    options = {"days": 7, "uses": 1}
    rest = _take_options(args.split(), options)
    if isinstance(rest, str):
        return rest
    if len(rest) < 2 or rest[0].lower() not in labels.LEVEL:
        return invite_usage()
    level, region = rest[0].lower(), places.find_region(rest[1])
    if region is None:
        codes = ", ".join(p.code for p in places.regions)
        return _("Unknown region code. Known codes: {codes}").format(codes=codes)
    district: Place | None = None
    if level == "regional":
        for key, word in zip(("days", "uses"), rest[2:4], strict=False):
            if (number := typed_int(word)) is not None:
                options[key] = number
    else:
        found = find_district(places, region.id, " ".join(rest[2:]), locale)
        if isinstance(found, str):
            return found
        district = found
    return {"level": level, "region_id": region.id,
            "district_id": district.id if district else None, **options}


def _take_options(tokens: list[str], options: dict[str, int]) -> list[str] | str:
    """Fill `days=N uses=N` into options; the other words, or an error message."""
    rest = []
    for token in tokens:
        key, sep, value = token.partition("=")
        if sep and key.lower() in options:
            number = typed_int(value)
            if number is None:
                return _("Use numbers, for example days=7 uses=1.")
            options[key.lower()] = number
        else:
            rest.append(token)
    return rest


def find_district(places: PlaceDirectory, region_id: int, query: str,
                  locale: str) -> Place | str:
    items = places.districts.get(region_id, [])
    number = typed_int(query)
    if number is not None and 1 <= number <= len(items):
        return items[number - 1]
    q = query.casefold()
    matches = [p for p in items if q and any(q in n.casefold() for n in p.names.values())]
    if len(matches) > 1:  # "Semey" means Semey City rather than Zhanasemey District
        words = [p for p in matches
                 if any(w.startswith(q) for n in p.names.values() for w in n.casefold().split())]
        matches = words or matches
    if len(matches) == 1:
        return matches[0]
    listing = "\n".join(f"{n}. {html.escape(p.name(locale))}"
                        for n, p in enumerate(items, start=1))
    return _("Name the district by its number or a unique part of its name:\n{listing}").format(
        listing=listing)

