"""What the author reads: the preview's summary, the list of their announcements and the
confirmations report. In the language of the update (gettext); what recipients get is
bot.notices.broadcasts."""

from __future__ import annotations

import html
from datetime import datetime, tzinfo

from aiogram.utils.i18n import gettext as _

from bot.i18n import fmt_dt, fmt_int
from bot.notices import Voice
from bot.notices import broadcasts as notices
from bot.notices.broadcasts import ACK_LABELS
from bot.services import broadcasts as svc
from bot.services.numbers import as_int
from bot.services.places import PlaceDirectory
from bot.services.text import TEXT_LIMIT, short_html, take_lines
from db.models import Broadcast
from handlers.shared.texts import NAME_SHOWN, ORG_SHOWN, more_text

HALF = TEXT_LIMIT // 2 - 100  # each list of the report gets half a message, then "…and N more"


def preview_summary(voice: Voice, places: PlaceDirectory, locale: str, audience: str,
                    scope: svc.Scope, count: int, ack: str | None) -> str:
    return "\n".join([
        _("Audience: {audience}").format(
            audience=notices.audience_label(voice, locale, audience)),
        _("Area: {area}").format(area=html.escape(notices.area_label(
            voice, places, locale, scope.region_id, scope.district_id))),
        _("Recipients: {n}").format(n=fmt_int(count, locale)),
        _("Confirmation button: {label}").format(
            label=_(ACK_LABELS[ack]) if ack else _("none")),
    ])


def status_name(status: str) -> str:
    names = {"scheduled": _("scheduled"), "sending": _("sending"), "done": _("finished"),
             "cancelled": _("cancelled")}
    return names.get(status, status)


def list_line(voice: Voice, bc: Broadcast, p: svc.Progress, acks: dict[int, int], locale: str,
              tz: tzinfo) -> str:
    """One announcement of /broadcasts: when, how far, who it is for, and who confirmed."""
    when = bc.scheduled_at if bc.status == "scheduled" else (bc.started_at or bc.created_at)
    line = _("#{id} · {time} · {status} · {audience}").format(
        id=bc.id, time=fmt_dt(when, locale, tz), status=status_name(bc.status),
        audience=notices.audience_label(voice, locale, bc.audience))
    if bc.status != "scheduled":
        line += "\n    " + _("delivered {sent} of {total}, blocked {blocked}, failed "
                             "{failed}").format(sent=fmt_int(p.sent, locale),
                                                total=fmt_int(p.total, locale),
                                                blocked=p.blocked, failed=p.failed)
    if bc.ack:
        line += ", " + _("confirmed {n}").format(n=fmt_int(acks.get(bc.id, 0), locale))
    return line


def acks_text(bc: Broadcast, report: svc.AckReport, by: str, places: PlaceDirectory,
              locale: str) -> str:
    """Who confirmed, by district (or by school within a district), and who has not yet."""
    lines = [_("Confirmations of announcement #{id}: {n} of {total}").format(
        id=bc.id, n=fmt_int(report.acknowledged, locale),
        total=fmt_int(report.delivered, locale))]
    groups = [f"• {_group_name(group, by, places, locale)}: {done}/{total}"
              for group, done, total in report.groups]
    lines += take_lines(groups, HALF, more_text)
    if report.missing:
        lines += ["", _("Not yet confirmed:"), *_missing_lines(report)]
    return "\n".join(lines)


def _group_name(group: str, by: str, places: PlaceDirectory, locale: str) -> str:
    if by == "district":
        place = places.district(as_int(group))
        return html.escape(place.name(locale)) if place else "—"
    return short_html(group, ORG_SHOWN)


def _missing_lines(report: svc.AckReport) -> list[str]:
    unlisted = max(0, waiting(report) - len(report.missing))  # the report names the first ones
    # a minor waiting for a guardian is named only as waiting, without a school
    named = [f"— {short_html(n, NAME_SHOWN)}" + (f" ({short_html(o, ORG_SHOWN)})" if o else "")
             for n, o in report.missing]
    shown = take_lines(named, HALF, lambda n: more_text(n + unlisted))
    if unlisted and len(shown) == len(named):  # every named one fits: count the rest
        shown.append(more_text(unlisted))
    return shown


def waiting(report: svc.AckReport) -> int:
    """How many received it and have not confirmed yet."""
    return report.delivered - report.acknowledged


def scheduled_text(bc_id: int, when: datetime, locale: str, tz: tzinfo) -> str:
    return _("Scheduled: announcement #{id} goes out on {time}. /broadcasts lists it.").format(
        id=bc_id, time=fmt_dt(when, locale, tz))
