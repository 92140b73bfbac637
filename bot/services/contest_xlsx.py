"""A contest's workbook (/export_challenge): the entries with their review decision and
reason, the jury's result (mean, jurors who scored, quorum, rank) and place; a second sheet
with every juror's score per criterion. Header frozen, filters on, columns sized to fit.

The texts come translated from the caller (`tr` over English message ids); nothing here
needs aiogram.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import jury
from bot.services.guardian import as_seen_by_others
from db.models import User
from db.models.challenges import Challenge, JuryScore, Submission

HEADER_FILL = "DDEBF7"
MIN_WIDTH, MAX_WIDTH = 8, 60


def _(msgid: str) -> str:
    """Marks a message id for extraction; the caller's `tr` translates it."""
    return msgid


REVIEW_HEADERS = (_("Reviewed by"), _("Reviewed at (Almaty)"), _("Reason"))
JURY_HEADERS = (_("Jury: mean of the totals"), _("Jurors who scored"), _("Quorum reached"),
                _("Rank"))
SCORES_HEADERS = (_("Entry"), _("Participant"), _("Juror"))


@dataclass
class JuryResult:
    criteria: list[str]
    quorum: int
    per_entry: dict[int, list[Any]] = field(default_factory=dict)  # REVIEW + JURY columns
    scores: list[list[Any]] = field(default_factory=list)  # the second sheet's rows


async def review_and_jury(session: AsyncSession, challenge_id: int, locale: str, tz: ZoneInfo,
                          tr: Callable[[str], str], waiting: str) -> JuryResult:
    """Per entry: who decided the review and when, the reason of a refusal; the jury's mean,
    jurors with complete scores, whether the quorum was reached, the rank in its group. And
    every juror's scores, criterion by criterion."""
    challenge = await session.get(Challenge, challenge_id)
    criteria = [jury.criterion_name(c, locale) for c in (challenge.jury_criteria or [])]
    result = JuryResult(criteria, challenge.jury_quorum)
    ranked = {r.submission_id: r for rows in (await jury.rankings(session, challenge_id)).values()
              for r in rows} if criteria else {}
    people = await _names(session, challenge_id)
    for sid, reviewer, reviewed_at, reason in await session.execute(
            select(Submission.id, Submission.reviewed_by, Submission.reviewed_at,
                   Submission.reject_reason)
            .where(Submission.challenge_id == challenge_id).order_by(Submission.id)):
        review = [str(people.get(reviewer, "")) if reviewer else "",
                  reviewed_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if reviewed_at else "",
                  reason or ""]
        result.per_entry[sid] = review + _jury_columns(ranked.get(sid), tr)
    result.scores = await _score_rows(session, challenge_id, len(criteria), people, waiting)
    return result


def _jury_columns(r: jury.Ranked | None, tr: Callable[[str], str]) -> list[Any]:
    """Mean, jurors with complete scores, quorum reached, rank ("2=" when tied)."""
    if r is None:
        return [None, 0, "", ""]
    rank = (f"{r.rank}=" if r.tied else r.rank) if r.quorum else ""
    return [round(r.mean, 2), r.scores, tr(_("yes")) if r.quorum else tr(_("no")), rank]


async def _names(session: AsyncSession, challenge_id: int) -> dict[int, Any]:
    """Reviewers, jurors and participants of the contest by id: (name, limited)."""
    ids = select(Submission.user_id).where(Submission.challenge_id == challenge_id).union(
        select(Submission.reviewed_by).where(Submission.challenge_id == challenge_id),
        select(JuryScore.juror_id).join(Submission, Submission.id == JuryScore.submission_id)
        .where(Submission.challenge_id == challenge_id))
    rows = await session.execute(select(User.id, User.full_name, User.limited)
                                 .where(User.id.in_(ids)))
    return {uid: (name or "—") if not limited else _Limited(name or "")
            for uid, name, limited in rows}


class _Limited(str):
    """A minor still waiting for a guardian's confirmation: shown as `waiting`, not named."""


async def _score_rows(session: AsyncSession, challenge_id: int, n: int,
                      people: dict[int, Any], waiting: str) -> list[list[Any]]:
    scores: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)
    owner: dict[int, int] = {}
    for sid, uid, juror, criterion, value in await session.execute(
            select(JuryScore.submission_id, Submission.user_id, JuryScore.juror_id,
                   JuryScore.criterion, JuryScore.score)
            .join(Submission, Submission.id == JuryScore.submission_id)
            .where(Submission.challenge_id == challenge_id)
            .order_by(JuryScore.submission_id, JuryScore.juror_id, JuryScore.criterion)):
        scores[(sid, juror)][criterion] = value
        owner[sid] = uid
    rows = []
    for (sid, juror), by_criterion in scores.items():
        holder = people.get(owner[sid], "")
        name, _org = as_seen_by_others(isinstance(holder, _Limited), str(holder), None, waiting)
        values = [by_criterion.get(i) for i in range(n)]
        complete = all(v is not None for v in values)
        rows.append([sid, name, str(people.get(juror, "")), *values,
                     sum(v for v in values if v is not None) if complete else None])
    return rows


def column_width(header: str, values: list[Any]) -> int:
    """Fitted to the longest value (within MIN_WIDTH..MAX_WIDTH); a header may wrap to two
    lines, but no word of it is cut."""
    longest = max((len(str(v)) for v in values if v is not None), default=0)
    from bot.services.xlsx import header_word_width

    fitted = max(MIN_WIDTH, min(MAX_WIDTH, max(longest, len(str(header)) // 2) + 2))
    return max(fitted, header_word_width(header))


def build(sheets: list[tuple[str, list[str], list[list[Any]]]]) -> bytes:
    """Each (title, header, rows) a sheet: bold header row frozen, a filter on every column,
    widths fitted to the longest value (within MIN_WIDTH..MAX_WIDTH)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from bot.services import xlsx

    wb = Workbook()
    wb.remove(wb.active)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title[:31])
        xlsx.append(ws, header)
        for row in rows:
            xlsx.append(ws, row)
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
        widths = [column_width(head, [r[i] for r in rows]) for i, head in enumerate(header)]
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        # Nothing sizes a wrapped row when the file is opened: the header's lines are counted
        # here, or a two-line heading is drawn over the first entry.
        xlsx.fit_header_height(ws, header, widths)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
