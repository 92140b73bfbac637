"""The contest workbook (/export_challenge, issue 17): review decisions with reasons, the
jury's per-criterion scores, the quorum, the rank and the place; a sheet that opens ready to
read (frozen header, filters, fitted widths), in the staff member's language."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from db.models import User
from db.models.challenges import Challenge, JuryScore, Submission
from tests.factories import make_coordinator, make_staff, make_student

CRITERIA = [{"kk": "Мазмұны", "ru": "Содержание", "en": "Content"},
            {"kk": "Безендіру", "ru": "Оформление", "en": "Design"}]


async def judged_contest(h) -> tuple[int, dict[str, int]]:
    now = h.app.now()
    staff = await make_staff(h)
    jurors = [await make_coordinator(h, 301 + i) for i in range(2)]
    people = [await make_student(h, 101 + i, org_name=f"School No. {i + 1}") for i in range(4)]
    async with h.app.sessionmaker() as s:
        for n, u in enumerate([*people, *jurors]):
            await s.execute(update(User).where(User.id == u.id).values(
                full_name=["Aida Serik", "Dana Ospan", "Erlan Kim", "Nurlan Abai",
                           "Juror One", "Juror Two"][n]))
        c = Challenge(kind="contest", status="judged", title_kk="Үздік репортаж",
                      description_kk="…", starts_at=now - timedelta(days=30),
                      deadline_at=now - timedelta(days=10), jury_criteria=CRITERIA,
                      jury_quorum=2, content_kinds=["text"])
        s.add(c)
        await s.flush()
        ids = {}
        for n, (who, status, place, reason) in enumerate([
                ("a", "approved", "1", None), ("b", "approved", "2", None),
                ("c", "approved", None, None), ("d", "rejected", None, "Not on the topic")]):
            sub = Submission(challenge_id=c.id, user_id=people[n].id, status=status,
                             place=place, content_kind="text", text="…",
                             reviewed_by=staff.id, reviewed_at=now - timedelta(days=8),
                             reject_reason=reason)
            s.add(sub)
            await s.flush()
            ids[who] = sub.id
        marks = {("a", 0): (9, 8), ("a", 1): (10, 9), ("b", 0): (7, 7), ("b", 1): (8, 6),
                 ("c", 0): (5, 5)}  # c: one juror only, short of the quorum of 2
        for (who, j), values in marks.items():
            for criterion, value in enumerate(values):
                s.add(JuryScore(submission_id=ids[who], juror_id=jurors[j].id,
                                criterion=criterion, score=value))
        await s.commit()
        return c.id, ids


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_the_contest_workbook_has_the_jury_and_the_review(h, lang):
    cid, ids = await judged_contest(h)
    async with h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.tg_id == 900).values(locale=lang))
        await s.commit()
    h.app.users.forget(900)
    await h.user(900).send(f"/export_challenge {cid}")
    call = h.api.last(900)
    assert call.method == "sendDocument", call.text
    book = load_workbook(io.BytesIO(call.files["document"]))
    t = h.app.i18n.t
    entries, scores = book.worksheets
    assert entries.title == t(lang, "Entries") and scores.title == t(lang, "Jury scores")
    for ws in (entries, scores):
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
        assert all(ws.column_dimensions[c].width >= 8 for c in "ABC")
    header = [c.value for c in entries[1]]
    rows = {r[0]: dict(zip(header, r, strict=True))
            for r in entries.iter_rows(min_row=2, values_only=True)}
    mean, jurors, quorum, rank = (t(lang, h_) for h_ in (
        "Jury: mean of the totals", "Jurors who scored", "Quorum reached", "Rank"))
    assert rows[ids["a"]][mean] == 18 and rows[ids["a"]][rank] == 1  # (17 + 19) / 2
    assert rows[ids["a"]][quorum] == t(lang, "yes") and rows[ids["a"]][jurors] == 2
    assert rows[ids["b"]][mean] == 14 and rows[ids["b"]][rank] == 2
    assert rows[ids["c"]][quorum] == t(lang, "no") and rows[ids["c"]][rank] in (None, "")
    assert rows[ids["d"]][t(lang, "Reason")] == "Not on the topic"
    assert rows[ids["a"]][t(lang, "Place")] and not rows[ids["c"]][t(lang, "Place")]
    async with h.app.sessionmaker() as s:
        reviewer = (await s.get(User, (await s.get(Submission, ids["d"])).reviewed_by)).full_name
    assert reviewer and rows[ids["d"]][t(lang, "Reviewed by")] == reviewer
    # every juror's score per criterion, named in the staff member's language
    head = [c.value for c in scores[1]]
    assert head[3:] == [c[lang] for c in CRITERIA] + [t(lang, "Total")]
    table = [r for r in scores.iter_rows(min_row=2, values_only=True)]
    assert (ids["a"], "Aida Serik", "Juror Two", 10, 9, 19) in table
    assert len(table) == 5


def test_the_workbook_header_is_not_drawn_over_the_first_entry_nor_cut():
    """Seen rendered (docs/stop-evidence/contest-kk-sheet1.png): Kazakh headers wrapped onto a
    second line that the row's height did not hold, so they were drawn over the first entry,
    and a long word ("идентификаторлары") was cut; the jury's mean showed 23.333333."""
    from bot.services import contest_xlsx, jury, xlsx

    header = ["Жұмыс", "Telegram файл идентификаторлары", "Шығармашылық",
              "Қазылар алқасы: жалпы балдардың орташасы"]
    ws = load_workbook(io.BytesIO(contest_xlsx.build(
        [("Жұмыстар", header, [[1, "", None, 23.33]])]))).active
    widths = [ws.column_dimensions[c].width for c in "ABCD"]
    for head, width in zip(header, widths, strict=True):
        assert max(len(w) for w in head.split()) * 1.2 + 2 <= width, (head, width)
    lines = max(len(xlsx.wrapped(h_, w)) for h_, w in zip(header, widths, strict=True))
    assert lines >= 2 and ws.row_dimensions[1].height >= 15 * lines
    mean = contest_xlsx._jury_columns(jury.Ranked(1, False, 7, 70 / 3, 3, True), str)[0]
    assert mean == 23.33
