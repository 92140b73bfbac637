"""Texts of the jury: its settings as staff see them, the ranking, the ranking applied to
places, and a criterion as a juror scores it (pure builders: no handler lives here)."""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.services import jury
from bot.services.text import TEXT_LIMIT, fit, seen_length, short_html
from db.models.challenges import Challenge, Submission
from handlers.challenges.texts import place_name
from handlers.shared.texts import NAME_SHOWN

Group = tuple[int | None, int | None]  # (nomination id, age category id)
AdminRow = tuple[str, str, int, str]  # (text, action, challenge id, arg): keyboards.admin_kb


def jury_text(challenge: Challenge, progress: list, locale: str) -> str:
    judged = challenge.status == "judged"
    criteria = "; ".join(html.escape(jury.criterion_name(c, locale))
                         for c in challenge.jury_criteria or []) or "—"
    lines = [f"<b>{html.escape(challenge.text('title', locale))}</b>",
             _("Criteria (0–10 each): {items}").format(items=criteria),
             _("Scores needed per entry: {n}").format(n=challenge.jury_quorum)]
    if challenge.jury_closed_at or judged:
        lines.append(_("The jury round is closed."))
    if judged:  # nothing about the jury changes any more: only the ranking is offered
        lines.append(_("The results are already published."))
    lines.append(_("Jurors (entries scored / entries to score):"))
    lines += [f"• {short_html(p.name, NAME_SHOWN)}: {juror_count(p)}" for p in progress] or ["—"]
    return "\n".join(lines)


def juror_count(p: jury.JurorProgress) -> str:
    """"scored / to score"; a juror recused from every entry is said to be, not "0 / 0"."""
    if p.recused_from_all:
        return _("recused from every entry (own region or organisation)")
    return f"{p.done} / {p.eligible}"


def jury_rows(challenge: Challenge, progress: list) -> list[AdminRow]:
    cid = challenge.id
    if challenge.status == "judged":
        return [(_("🏅 Ranking"), "jrank", cid, "")]
    rows = [(_("Criteria"), "jcrit", cid, ""), (_("Quorum"), "jq", cid, ""),
            (_("➕ Add a juror"), "jadd", cid, ""), (_("🏅 Ranking"), "jrank", cid, "")]
    rows += [(_("➖ {name}").format(name=p.name[:30]), "jdelq", cid, str(p.user_id))
             for p in progress]
    if challenge.jury_closed_at is None:
        rows.append((_("⏹ Close the round"), "jclose", cid, ""))
    else:  # until the results are published the round can open again
        rows.append((_("▶️ Reopen the round"), "jopen", cid, ""))
    return rows


def close_round_question(challenge: Challenge, progress: list, locale: str) -> str:
    return _("Close the jury round of “{title}”? Jurors will no longer be able to score. "
             "Scores given so far by all jurors together: {done} of {todo}. You can reopen "
             "the round until the results are published.").format(
        title=html.escape(challenge.text("title", locale)),
        done=sum(p.done for p in progress), todo=sum(p.eligible for p in progress))


# --- the ranking ------------------------------------------------------------------------------

def group_head(names: dict[int, str], key: Group) -> str:
    head = " / ".join(html.escape(names[k]) for k in key if k in names)
    return f"<b>{head or '—'}</b>"


def group_order(key: Group) -> tuple[int, int]:
    return key[0] or 0, key[1] or 0


def ranking_text(groups: dict, names: dict[int, str], footer: str) -> str:
    lines = [_("Ranking by mean score (= marks a tie; ✓ the quorum is reached):")]
    for key, items in sorted(groups.items(), key=lambda g: group_order(g[0])):
        lines += ["", group_head(names, key)]
        for r in items[:50]:
            lines.append(_("{rank}{tie}. No. {n} — {mean} (scores: {count}){ok}").format(
                rank=r.rank, tie="=" if r.tied else "", n=r.submission_id,
                mean=f"{r.mean:.2f}", count=r.scores, ok=" ✓" if r.quorum else ""))
    body = fit("\n".join(lines), TEXT_LIMIT - seen_length(footer) - 2)
    return f"{body}\n\n{footer}"


# --- the ranking applied to places ----------------------------------------------------------

def numbers(items: list[jury.PlannedPlace], limit: int = 12) -> str:
    shown = ", ".join(_("No. {n}").format(n=p.submission_id) + f" ({p.mean:.2f})"
                      for p in items[:limit])
    return shown + (f" … (+{len(items) - limit})" if len(items) > limit else "")


def plan_head(plan: jury.PlacesPlan) -> str:
    if plan.diplomas is None:
        diplomas = _("diplomas to every other entry with the quorum")
    elif plan.diplomas:
        diplomas = ngettext("diplomas to the next {n} rank", "diplomas to the next {n} ranks",
                            plan.diplomas).format(n=plan.diplomas)
    else:
        diplomas = _("no diplomas")
    return _("<b>The ranking applied to places</b> (1st, 2nd, 3rd place; {diplomas}). "
             "Only entries with the quorum; equal scores share a place.").format(
        diplomas=diplomas)


def plan_groups(plan: jury.PlacesPlan, names: dict[int, str]) -> list[str]:
    lines: list[str] = []
    for key, items in sorted(plan.groups.items(), key=lambda g: group_order(g[0])):
        lines += ["", group_head(names, key)]
        for place in (*jury.PODIUM, "diploma"):
            chosen = [p for p in items if p.place == place]
            if chosen:
                lines.append(f"{place_name(place)}: {numbers(chosen)}")
        if not any(p.place for p in items):
            lines.append("—")
    return lines


def plan_conflicts(plan: jury.PlacesPlan) -> list[str]:
    if not plan.conflicts:
        return []
    lines = [_("Already placed differently (by hand or earlier): {n}").format(
        n=len(plan.conflicts))]
    lines += [_("• No. {n}: {current} → {place}").format(
        n=p.submission_id, current=place_name(p.current), place=place_name(p.place))
        for p in plan.conflicts[:15]]
    if len(plan.conflicts) > 15:
        lines.append(f"… (+{len(plan.conflicts) - 15})")
    return lines


def plan_notes(plan: jury.PlacesPlan) -> list[str]:
    lines = []
    if plan.grand_prix:
        lines.append(_("Grand Prix set by hand stays: {items}.").format(
            items=", ".join(_("No. {n}").format(n=p.submission_id) for p in plan.grand_prix)))
    if plan.without_quorum:
        lines.append(_("Entries without the quorum get no place: {n}.").format(
            n=plan.without_quorum))
    if plan.jury_open:
        lines.append(_("⚠️ The jury round is still open: scores may still change."))
    if plan.results_published:
        lines.append(_("⚠️ The results are already published: participants will not hear "
                       "about these changes."))
    if not plan.changes(overwrite=True):
        lines.append(_("Nothing to change: the places already match the ranking."))
    return lines


def plan_text(plan: jury.PlacesPlan, names: dict[int, str]) -> str:
    lines = [plan_head(plan), *plan_groups(plan, names),
             "", _("New places: {n}.").format(n=len(plan.new)),
             *plan_conflicts(plan), *plan_notes(plan)]
    return fit("\n".join(lines))


# --- jurors ------------------------------------------------------------------------------------

def criterion_text(challenge: Challenge, sub: Submission, criterion: int,
                   options: dict[int, str], locale: str) -> str:
    extra = " / ".join(html.escape(options[k]) for k in (sub.nomination_id, sub.category_id)
                       if k in options)
    criteria = challenge.jury_criteria
    name = html.escape(jury.criterion_name(criteria[criterion], locale))
    return _("<b>Entry No. {n}</b> {extra}\nCriterion {k} of {total}: <b>{name}</b>. "
             "Your score:").format(n=sub.id, extra=extra, k=criterion + 1, total=len(criteria),
                                   name=name)
