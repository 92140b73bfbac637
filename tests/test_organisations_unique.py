"""Organisations, second pass (issue 17): one live record per (place, type, key) even when two
people type a new school at once, staff reach the regional records (no district) in /orgs,
/stats and /report count the organisations taking part once after a merge, and /invite asks
"which district" with the district step /orgs and /profile share."""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, datetime

import pytest
from docx import Document
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.services import organisations as orgs
from db.migrate import upgrade
from db.models import ActivityLog, Organisation, User
from tests.conftest import STAFF_ID
from tests.factories import make_staff, place_ids
from tests.test_organisations import AKSU, REGION, make_org, member
from tests.test_stats import WEEK, docx_tables

TYPO = "№45 Аксу жалпы орта мектебі"  # "а" for "ә": a key of its own
PALACE = "Облыстық оқушылар сарайы"


def live_count(rows: list[Organisation]) -> int:
    return sum(1 for o in rows if o.merged_into_id is None)


# --- 1. the unique index and the race ------------------------------------------------------

async def test_a_second_live_record_of_one_key_is_refused(h):
    region_id, district_id = await place_ids(h, "abai", 0)
    regional = orgs.Place(region_id, None, "school")
    first = await make_org(h, AKSU)
    await make_org(h, PALACE, district_index=None)
    for district, name in ((district_id, "Ақсу ЖОМ №45"), (None, PALACE)):
        async with h.app.sessionmaker() as s:
            s.add(Organisation(region_id=region_id, district_id=district, org_type="school",
                               name=name, key=orgs.org_key(name)))
            with pytest.raises(IntegrityError):
                await s.flush()
    async with h.app.sessionmaker() as s:  # a college of the same name, and a merged record
        s.add(Organisation(region_id=region_id, district_id=district_id, org_type="college",
                           name=AKSU, key=orgs.org_key(AKSU)))
        s.add(Organisation(region_id=region_id, district_id=district_id, org_type="school",
                           name=AKSU, key=orgs.org_key(AKSU), merged_into_id=first))
        s.add(Organisation(region_id=region_id, district_id=None, org_type="college",
                           name=PALACE, key=orgs.org_key(PALACE)))
        await s.commit()
        assert len(await orgs.listed(s, regional)) == 1


async def test_two_people_typing_one_new_school_at_once_get_one_record(h, monkeypatch):
    """The second did not see the first's record when it checked (it was not committed yet):
    its insert fails on the index, and it lands on the first's record; what it did before in
    the same transaction is kept (a savepoint, not a rollback)."""
    region_id, district_id = await place_ids(h, "abai", 0)
    place = orgs.Place(region_id, district_id, "school")
    first = await make_org(h, AKSU)
    real, calls = orgs.same_as, []

    async def not_yet_seen(session, where, name):
        calls.append(name)
        return None if len(calls) == 1 else await real(session, where, name)

    monkeypatch.setattr(orgs, "same_as", not_yet_seen)
    student = await member(h, 330, first)
    async with h.app.sessionmaker() as s:
        row = await s.get(User, student.id)
        row.full_name = "Kept"
        org = await orgs.resolve(s, place, "«Ақсу жалпы орта мектебі» № 45")
        await s.commit()
    assert org.id == first and len(calls) == 2
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Organisation)) == 1
        assert (await s.get(User, student.id)).full_name == "Kept"


@pytest.mark.sqlite_only("the SQLite walk (test_postgres walks PostgreSQL)")
def test_migration_merges_race_duplicates_before_the_index(tmp_path):
    url = f"sqlite+inline:///{tmp_path}/m.db"
    upgrade(url, "0020")
    with sqlite3.connect(tmp_path / "m.db") as conn:
        d1 = conn.execute("select id from districts where region_id = 1 order by id").fetchone()[0]
        for n, (district, name) in enumerate([(d1, "№45 Ақсу ЖОМ"), (d1, "Ақсу ЖОМ №45"),
                                              (None, PALACE), (None, PALACE)], start=1):
            conn.execute("insert into organisations (id, region_id, district_id, org_type, name, "
                         "key, created_at) values (?, 1, ?, 'school', ?, ?, '2026-01-01')",
                         (n, district, name, orgs.org_key(name)))
            conn.execute("insert into users (id, tg_id, channel, locale, role, status, "
                         "region_id, district_id, org_type, org_name, organisation_id, limited, "
                         "blocked_bot, settings, created_at, updated_at) values (?, ?, "
                         "'telegram', 'kk', 'student', 'active', 1, ?, 'school', ?, ?, 0, 0, "
                         "'{}', '2026-01-01', '2026-01-01')", (n, 1000 + n, district, name, n))
    upgrade(url, "0021")
    with sqlite3.connect(tmp_path / "m.db") as conn:
        merged = dict(conn.execute("select id, merged_into_id from organisations").fetchall())
        people = conn.execute("select organisation_id, org_name from users order by id").fetchall()
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("insert into organisations (region_id, district_id, org_type, name, "
                         "key, created_at) values (1, NULL, 'school', 'x', ?, '2026-01-01')",
                         (orgs.org_key(PALACE),))
    assert merged == {1: None, 2: 1, 3: None, 4: 3}
    assert people == [(1, "№45 Ақсу ЖОМ"), (1, "№45 Ақсу ЖОМ"), (3, PALACE), (3, PALACE)]


# --- 2. /orgs reaches the regional records -------------------------------------------------

REGIONAL = {"kk": "🏛 Облыстық деңгей, аудансыз", "ru": "🏛 Областной уровень, без района"}


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_staff_merge_regional_records(h, lang):
    right = await make_org(h, PALACE, district_index=None)
    typo = await make_org(h, "Облыстык окушылар сарайы", district_index=None)
    await make_org(h, AKSU)  # of a district: not among the region's own
    for tg_id, org in ((340, right), (341, typo), (342, typo)):
        await member(h, tg_id, org)
    await make_staff(h, locale=lang)
    staff = h.user(STAFF_ID)
    await staff.send("/orgs")
    await staff.click(REGION[lang])
    await staff.click(REGIONAL[lang])
    listing = staff.last_text()
    assert REGIONAL[lang].removeprefix("🏛 ") in listing and AKSU not in listing
    assert {"kk": ": 2 ұйым.", "ru": ": 2 организации."}[lang] in listing
    await staff.click("Облыстык окушылар сарайы · 2")
    await staff.click(f"{PALACE} · 1")
    await staff.click({"kk": "Біріктіру", "ru": "Объединить"}[lang])
    assert {"kk": "2 адам", "ru": "2 человека"}[lang] in staff.last_text()
    async with h.app.sessionmaker() as s:
        people = set((await s.scalars(select(User.organisation_id)
                                      .where(User.role == "student"))).all())
        assert people == {right} and (await s.get(Organisation, typo)).merged_into_id == right


# --- 3. /stats and /report count organisations once after a merge --------------------------

async def _active_in(h, tg_id: int, org_id: int, org_type: str = "school") -> None:
    student = await member(h, tg_id, org_id, org_type=org_type)
    async with h.app.sessionmaker() as s:
        s.add(ActivityLog(user_id=student.id, kind="challenge_join",
                          at=datetime(2026, 3, 3, 6, tzinfo=UTC), role="student",
                          region_id=student.region_id, district_id=student.district_id,
                          org_type=org_type))
        await s.commit()


def org_lines(h, lang: str, counts: tuple[int, int, int, int]) -> list[str]:
    labels = ("Schools", "Colleges", "Universities", "Total")
    return [f"• {h.app.i18n.t(lang, label)}: <b>{n}</b>" for label, n in zip(labels, counts,
                                                                              strict=True)]


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_stats_and_report_count_participating_organisations_once(h, lang):
    right, typo = await make_org(h, AKSU), await make_org(h, TYPO)
    college = await make_org(h, "Семей колледжі", org_type="college")
    idle = await make_org(h, "№7 мектеп")
    await _active_in(h, 350, right)
    await _active_in(h, 351, right)
    await _active_in(h, 352, typo)
    await _active_in(h, 353, college, "college")
    await member(h, 354, idle)  # registered before, nothing this week: not taking part
    staff_row = await make_staff(h, locale=lang)
    staff = h.user(STAFF_ID)
    await staff.send("/stats " + WEEK)
    text = h.api.of("sendMessage", STAFF_ID)[-1].params["text"]
    assert h.app.i18n.t(lang, "Participating organisations") in text
    assert all(line in text for line in org_lines(h, lang, (2, 1, 0, 3))), text
    async with h.app.sessionmaker() as s:
        await orgs.merge(s, await s.get(User, staff_row.id), typo, right)
        await s.commit()
    await staff.send("/stats " + WEEK)
    text = h.api.of("sendMessage", STAFF_ID)[-1].params["text"]
    assert all(line in text for line in org_lines(h, lang, (1, 1, 0, 2))), text
    await staff.send("/report 2026")
    doc = Document(io.BytesIO(h.api.of("sendDocument", STAFF_ID)[-1].files["document"]))
    t = h.app.i18n.t
    totals = {r[0]: r[1:] for r in docx_tables(doc)[t(lang, "Totals for the year")]}
    title = t(lang, "Participating organisations")
    assert [totals[f"{title}: {t(lang, label)}"][0]
            for label in ("Schools", "Colleges", "Universities", "Total")] == ["1", "1", "0",
                                                                               "2"]


# --- 4. /invite: "which district", with the shared district step ---------------------------

@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_invite_asks_which_district_and_searches(h, lang):
    await make_staff(h, locale=lang)
    staff = h.user(STAFF_ID)
    await staff.send("/invite")
    await staff.click({"kk": "Аудандық (қалалық) деңгей",
                       "ru": "Районный (городской) уровень"}[lang])
    await staff.click(REGION[lang])
    which = {"kk": "Қай аудан немесе қала?", "ru": "Какой район или город?"}[lang]
    assert staff.last_text().startswith(which)
    assert "your district" not in staff.last_text()
    await staff.click("▶️")  # the next page keeps the question
    assert staff.last_text().startswith(which) and "◀️" in staff.buttons()
    await staff.send("Сем")
    assert staff.last_text().startswith(which)
    assert len(staff.buttons()) == 3  # the two matches and "« Another region"
    await staff.click({"kk": "Семей қаласы", "ru": "город Семей"}[lang])
    assert {"kk": "Сілтеме", "ru": "ссылка"}[lang].casefold() in staff.last_text().casefold()


@pytest.mark.sqlite_only("the SQLite walk (test_postgres walks PostgreSQL)")
def test_the_0017_backfill_fits_the_index(tmp_path):
    """People of one place typing one school in two spellings, regional ones too (no
    district): the backfill makes one record per key, which the index then accepts."""
    url = f"sqlite+inline:///{tmp_path}/m.db"
    upgrade(url, "0016")
    with sqlite3.connect(tmp_path / "m.db") as conn:
        d1 = conn.execute("select id from districts where region_id = 1 order by id").fetchone()[0]
        people = [(d1, "school", "№45 Ақсу ЖОМ"), (d1, "school", "Ақсу ЖОМ №45"),
                  (None, "school", PALACE), (None, "school", PALACE.upper()),
                  (None, None, PALACE), (None, "college", PALACE)]
        for n, (district, org_type, name) in enumerate(people, start=1):
            conn.execute("insert into users (id, tg_id, channel, locale, role, status, "
                         "region_id, district_id, org_type, org_name, limited, blocked_bot, "
                         "settings, created_at, updated_at) values (?, ?, 'telegram', 'kk', "
                         "'coordinator', 'active', 1, ?, ?, ?, 0, 0, '{}', '2026-01-01', "
                         "'2026-01-01')", (n, 1000 + n, district, org_type, name))
    upgrade(url, "0021")
    with sqlite3.connect(tmp_path / "m.db") as conn:
        recs = conn.execute("select district_id, org_type, merged_into_id from organisations "
                            "order by id").fetchall()
        users = [r[0] for r in conn.execute("select organisation_id from users order by id")]
    assert sorted(recs, key=str) == sorted([(d1, "school", None), (None, "school", None),
                                            (None, "college", None)], key=str)
    assert users[0] == users[1] and users[2] == users[3] == users[4] != users[5]
