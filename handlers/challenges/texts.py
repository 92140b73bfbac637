"""Texts of challenges shared by the participants' and the staff's conversations: labels,
a challenge's card, its audience and counts (pure builders: no handler lives here)."""

from __future__ import annotations

import html
from datetime import datetime, tzinfo
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot import labels
from bot.i18n import fmt_dt
from bot.services import challenges as svc
from bot.services.errors import DomainError
from bot.services.places import PlaceDirectory
from bot.services.text import TEXT_LIMIT, seen_length, short_html, take_lines
from db.models import User
from db.models.challenges import Challenge, ChallengeOption, Submission
from handlers.shared.texts import NAME_SHOWN, ORG_SHOWN, error_text, more_text

KIND = {"challenge": __("Challenge"), "action": __("Action"), "contest": __("Contest")}
STATUS = {"draft": __("draft"), "open": __("open"), "closed": __("closed"),
          "judged": __("results published")}
SUB_STATUS = {"pending": __("waiting for review"), "approved": __("approved"),
              "rejected": __("not accepted"), "withdrawn": __("withdrawn")}
CONTENT = {"photo": __("photo"), "video": __("video"), "document": __("document"),
           "text": __("text"), "link": __("link"), "album": __("album")}
PLACE = {"grand_prix": __("Grand Prix"), "1": __("1st place"), "2": __("2nd place"),
         "3": __("3rd place"), "diploma": __("Diploma")}
# review tiers: as the wizard offers them, and as a reviewer reads an entry's stage
TIER_OPTIONS = {"district": __("District pre-screening"), "regional": __("Regional shortlist")}
TIER = {"district": __("district pre-screening"), "regional": __("regional shortlist")}


def kinds_text(kinds: list[str]) -> str:
    return ", ".join(str(CONTENT[k]) for k in kinds if k in CONTENT)


def wrong_type_text(exc: DomainError) -> str:
    return _("This kind of content is not accepted here. Send: {kinds}.").format(
        kinds=kinds_text(exc.details.get("kinds", [])))  # type: ignore[arg-type]


def say(exc: DomainError) -> str:
    return wrong_type_text(exc) if exc.code == "wrong_type" else error_text(exc)


def days_text(days: int) -> str:
    return _("{days} d. left").format(days=days) if days else _("closes today")


def place_name(place: str | None) -> str:
    return str(PLACE[place]) if place in PLACE else _("no place")


def option_line(option: ChallengeOption) -> str:
    return " | ".join(n for n in (option.name_kk, option.name_ru, option.name_en) if n)


def card_text(challenge: Challenge, nominations: list, categories: list, locale: str,
              tz: tzinfo, now: datetime) -> str:
    lines = [f"<b>{KIND[challenge.kind]}: {html.escape(challenge.text('title', locale))}</b>",
             "", html.escape(challenge.text("description", locale)), ""]
    if nominations:
        lines.append(_("Nominations: {items}").format(
            items="; ".join(html.escape(o.name(locale)) for o in nominations)))
    if categories:
        lines.append(_("Age categories: {items}").format(
            items="; ".join(html.escape(o.name(locale)) for o in categories)))
    lines.append(_("Deadline: {deadline} ({left})").format(
        deadline=fmt_dt(challenge.deadline_at, locale, tz),
        left=days_text(svc.days_left(challenge, now))))
    if challenge.content_kinds:
        lines.append(_("Accepted: {kinds}; up to {max} entries per person.").format(
            kinds=kinds_text(challenge.content_kinds), max=challenge.max_submissions))
    return "\n".join(lines)


def audience_text(audience: dict[str, list], places: PlaceDirectory, locale: str) -> str:
    parts = [", ".join(str(labels.ORG_TYPE[k]) for k in audience.get("org_types") or []),
             ", ".join(str(labels.FACTION[k]) for k in audience.get("factions") or []),
             ", ".join(html.escape(places.region(r).name(locale))
                       for r in audience.get("region_ids") or [] if places.region(r))]
    return "; ".join(p for p in parts if p) or _("everyone")


# --- the staff's views ---------------------------------------------------------------------

def staff_list_text(rows: list, locale: str) -> tuple[str, list[tuple[str, str, int, str]]]:
    """/challenges for staff: the lines, and the (text, action, id, arg) buttons."""
    lines = [_("All challenges (participants / entries):")]
    buttons = []
    for challenge, participants, entries in rows[:40]:
        title = challenge.text("title", locale)
        number = _("No. {n}").format(n=challenge.id)
        lines.append(f"{number} · {KIND[challenge.kind]} · {STATUS[challenge.status]}"
                     f" · {html.escape(title[:50])} · {participants} / {entries}")
        buttons.append((f"{number} · {title[:30]}", "man", challenge.id, ""))
    return "\n".join(lines), buttons


def counts_text(c: dict[str, Any], nominations: list, categories: list,
                places: PlaceDirectory, locale: str) -> str:
    names = {o.id: o.name(locale) for o in (*nominations, *categories)}
    by_status = ", ".join(f"{SUB_STATUS.get(k, k)}: {v}" for k, v in c["by_status"].items())
    lines = [_("Participants: {n}").format(n=c["participants"]),
             _("Entries by status: {items}").format(items=by_status or "—")]
    for title, key in ((_("By nomination"), "by_nomination"), (_("By age category"),
                                                                "by_category")):
        items = [f"{html.escape(names.get(k, '—'))}: {v}" for k, v in c[key].items() if k]
        if items:
            lines.append(f"{title}: " + ", ".join(items))
    regions = [f"{html.escape(region.name(locale)) if region else '—'}: {v}"
               for k, v in c["by_region"].most_common(20)
               for region in (places.region(k),)]
    if regions:
        lines.append(_("By region") + ": " + ", ".join(regions))
    lines.append(_("Winners: {n}").format(n=c["winners"]))
    return "\n".join(lines)


def manage_text(challenge: Challenge, counts: dict[str, Any], nominations: list,
                categories: list, places: PlaceDirectory, tz: tzinfo, locale: str) -> str:
    return "\n".join([
        f"<b>{_('No. {n}').format(n=challenge.id)} · {KIND[challenge.kind]} · "
        f"{html.escape(challenge.text('title', locale))}</b>",
        _("Status: {status}").format(status=STATUS[challenge.status]),
        _("Start: {start}\nDeadline: {deadline}").format(
            start=fmt_dt(challenge.starts_at, locale, tz),
            deadline=fmt_dt(challenge.deadline_at, locale, tz)),
        _("Audience: {audience}").format(
            audience=audience_text(challenge.audience or {}, places, locale)),
        _("Accepted: {kinds}; up to {max} entries per person.").format(
            kinds=kinds_text(challenge.content_kinds) or "—", max=challenge.max_submissions),
        "", counts_text(counts, nominations, categories, places, locale)])


def winners_text(rows: list[list]) -> str:
    """The question for the winners, over the approved entries (export rows)."""
    approved = [r for r in rows if r[8] == "approved"]
    number = _("No. {n}")
    lines = [f"{number.format(n=r[0])} · {short_html(r[1], NAME_SHOWN)} · "
             f"{short_html(r[2], ORG_SHOWN)}"
             + (f" · {short_html(r[6], ORG_SHOWN)}" if r[6] else "")
             + (f" · {PLACE[r[9]]}" if r[9] in PLACE else "") for r in approved[:40]]
    text = _("Send the winners, one per line: “entry number place”. Places: gp (Grand Prix), "
             "1, 2, 3, diploma; “-” clears a place. For example:\n12 1\n15 diploma")
    if not lines:
        return text
    # the export has every entry whole; here as many as fit, then "…and N more"
    hidden = len(approved) - len(lines)
    head = text + "\n\n" + _("Approved entries:")
    shown = take_lines(lines, TEXT_LIMIT - seen_length(head) - 1,
                       lambda n: more_text(n + hidden))
    if hidden and len(shown) == len(lines):
        shown.append(more_text(hidden))
    return "\n".join([head, *shown])


# --- the wizard's preview -------------------------------------------------------------------

class _Option:
    """A nomination or age category not stored yet, named as a stored one is."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def name(self, locale: str) -> str:
        return self.names.get(locale) or self.names.get("ru") or self.names["kk"]


def preview_challenge(w: dict[str, Any]) -> Challenge:
    return Challenge(
        kind=w["kind"], status="draft", title_kk=w["title_kk"], title_ru=w.get("title_ru"),
        title_en=w.get("title_en"), description_kk=w["description_kk"],
        description_ru=w.get("description_ru"), description_en=w.get("description_en"),
        audience=w["audience"], content_kinds=w["content_kinds"],
        max_submissions=w.get("max_submissions") or 1, cover_file_id=w.get("cover_file_id"),
        starts_at=datetime.fromisoformat(w["starts_at"]),
        deadline_at=datetime.fromisoformat(w["deadline_at"]))


def preview_text(w: dict[str, Any], places: PlaceDirectory, tz: tzinfo, now: datetime,
                 locale: str) -> str:
    """The wizard's answers shown as the card participants will see, and what they don't."""
    challenge = preview_challenge(w)
    text = card_text(challenge, [_Option(o) for o in w.get("nominations") or []],
                     [_Option(o) for o in w.get("categories") or []], locale, tz, now)
    text += "\n\n" + _("Start: {start}\nAudience: {audience}").format(
        start=fmt_dt(challenge.starts_at, locale, tz),
        audience=audience_text(w["audience"], places, locale))
    if w.get("review_tiers"):
        text += "\n" + _("Review tiers: {tiers}").format(tiers=", ".join(
            str(TIER_OPTIONS[t]) for t in svc.TIERS if t in w["review_tiers"]))
    return _("Preview:") + "\n\n" + text


# --- review -----------------------------------------------------------------------------------

def _or_dash(value: str | None) -> str:
    return html.escape(value or "—")


def entry_text(sub: Submission, challenge: Challenge, participant: User | None,
               options: dict[int, str], places: PlaceDirectory, tz: tzinfo,
               locale: str) -> list[str]:
    """An entry as a reviewer reads it, under its content."""
    region = places.region(sub.region_id)
    district = places.district(sub.district_id)
    lines = [
        _("<b>Entry No. {n}</b> · {title}").format(
            n=sub.id, title=html.escape(challenge.text("title", locale))),
        _("Participant: {name}, {org}").format(
            name=_or_dash(participant.full_name) if participant else "—",
            org=_or_dash(participant.org_name) if participant else "—"),
        _("Place: {region}, {district}").format(
            region=html.escape(region.name(locale)) if region else "—",
            district=html.escape(district.name(locale)) if district else "—"),
        _("Content: {kind}; sent {at}").format(
            kind=CONTENT.get(sub.content_kind, sub.content_kind),
            at=fmt_dt(sub.submitted_at, locale, tz)),
    ]
    if sub.nomination_id or sub.category_id:
        lines.append(_("Nomination: {nom}; age category: {cat}").format(
            nom=html.escape(options.get(sub.nomination_id, "—")),
            cat=html.escape(options.get(sub.category_id, "—"))))
    if sub.comment:
        lines.append(_("Comment: {comment}").format(comment=html.escape(sub.comment)))
    if sub.stage in TIER:
        lines.append(_("Review tier: {tier}").format(tier=TIER[sub.stage]))
    return lines
