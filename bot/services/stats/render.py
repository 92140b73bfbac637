"""The /stats reply and the digest's text.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from bot.services.stats.counts import SECTIONS, Stats
from bot.services.stats.periods import Translate, _

# ---------------------------------------------------------------- rendering


def fmt_change(cur: int, prev: int, fmt: Callable[[int | float], str]) -> str:
    diff = cur - prev
    if diff == 0:
        return "±0"
    sign = "+" if diff > 0 else "−"
    text = f"{sign}{fmt(abs(diff))}"
    if prev > 0:
        text += f", {sign}{fmt(round(abs(diff) * 100 / prev))}%"
    return text


def render_text(stats: Stats, tr: Translate, fmt: Callable[[int | float], str],
                place_name: Callable[[str, int], str], top: int = 5) -> str:
    """The /stats reply and the digest (HTML: place names are escaped, staff import them)."""
    cur, prev = stats.current, stats.previous
    if stats.scope.district_id is not None:
        where = html.escape(place_name("district", stats.scope.district_id))
    elif stats.scope.region_id is not None:
        where = html.escape(place_name("region", stats.scope.region_id))
    else:
        where = tr(_("Whole country"))
    lines = [
        "📊 <b>" + tr(_("Statistics: {period}")).format(period=stats.period.label()) + "</b>",
        tr(_("Scope: {scope}")).format(scope=where),
        "<i>" + tr(_("In brackets: the change against {period}.")).format(
            period=stats.period.previous().label()) + "</i>",
    ]
    for title, rows in SECTIONS:
        lines.append("")
        lines.append(f"<b>{tr(title)}</b>")
        for key, label in rows:
            lines.append(f"• {tr(label)}: <b>{fmt(cur[key])}</b> "
                         f"({fmt_change(cur[key], prev[key], fmt)})")
    lines += offline_lines(stats, tr, fmt)
    heading = tr(_("By region")) if stats.scope.area == "region" else tr(_("By district"))
    lines.append("")
    lines.append("<b>" + heading + "</b> — " + tr(_(
        "registrations / active users / participation")))
    for n, row in enumerate(stats.areas[:top], start=1):
        name = html.escape(place_name(stats.scope.area, row.area_id or 0))
        lines.append(f"{n}. {name}: {fmt(row.get('registrations'))} / "
                     f"{fmt(row.get('active'))} / {fmt(row.participation)}")
    if not stats.areas:
        lines.append(tr(_("No activity in this period.")))
    u = stats.unplaced  # staff and erased people: counted in the total, so named above it
    if u is not None and (u.get("registrations") or u.get("active") or u.participation):
        label = tr(_("Region not given")) if stats.scope.area == "region" else tr(_("Not given"))
        lines.append(f"{label}: {fmt(u.get('registrations'))} / {fmt(u.get('active'))} / "
                     f"{fmt(u.participation)}")
    t = stats.total
    lines.append("<b>" + tr(_("Total")) + f"</b>: {fmt(t.get('registrations'))} / "
                 f"{fmt(t.get('active'))} / {fmt(t.participation)}")
    return "\n".join(lines)


def offline_lines(stats: Stats, tr: Translate, fmt: Callable[[int | float], str]) -> list[str]:
    """What coordinators reported of the offline weeks (bot.services.weekly), beside the
    bot's own counts."""
    now, before = stats.offline, stats.offline_before
    if now is None:
        return []
    return [
        "",
        "<b>" + tr(_("Offline work (coordinators' weekly reports)")) + "</b>",
        f"• {tr(_('Events held'))}: <b>{fmt(now.events)}</b> "
        f"({fmt_change(now.events, before.events, fmt)})",
        f"• {tr(_('People reached'))}: <b>{fmt(now.people)}</b> "
        f"({fmt_change(now.people, before.people, fmt)})",
        "• " + tr(_("Coordinators who reported: {filed} of {all}")).format(
            filed=f"<b>{fmt(now.filed)}</b>", all=fmt(now.coordinators)),
    ]
