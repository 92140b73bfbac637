"""Organisations as records per district (issue 17, "one school is one school"): picked from
the list, found by a typed part of the name, typed only when new, a typed spelling of a
listed one lands on it, and staff merge duplicates with everything following."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select

from bot.services import organisations as orgs
from bot.services.jury_seats import Seat, recusal
from db.migrate import upgrade
from db.models import ActivityLog, Organisation, Submission, User
from db.models.challenges import Challenge, JuryMember
from db.org_names import org_key
from tests.conftest import STAFF_ID
from tests.factories import make_staff, make_student, place_ids
from tests.harness import make_harness
from tests.wa_harness import WA_SETTINGS, attach_whatsapp

ROLE = {"kk": "Парламент мүшесі", "ru": "Член парламента"}
LANG = {"kk": "Қазақша", "ru": "Русский"}
SCHOOL = {"kk": "Мектеп", "ru": "Школа"}
REGION = {"kk": "Абай облысы", "ru": "область Абай"}
FACTION = {"kk": "Бақыт", "ru": "Счастье"}
LEADER = {"kk": "Фракция жетекшісі", "ru": "Лидер фракции"}
AGREE = {"kk": "Келісемін", "ru": "Даю согласие"}
NOT_LISTED = {"kk": "Тізімде жоқ", "ru": "Нет в списке"}
AKSU = "№45 Ақсу жалпы орта мектебі"


async def to_org_step(u, lang: str) -> None:
    await u.send("/start")
    await u.click(LANG[lang])
    await u.click(ROLE[lang])
    await u.click(SCHOOL[lang])
    await u.click(REGION[lang])
    await u.click("Семей")


async def finish(u, lang: str) -> None:
    await u.click(FACTION[lang])
    await u.click(LEADER[lang])
    await u.send("9")
    await u.click("16–17")
    await u.click(AGREE[lang])


async def stored(h, tg_id: int) -> User:
    async with h.app.sessionmaker() as s:
        return await s.scalar(select(User).where(User.tg_id == tg_id))


async def records(h) -> list[Organisation]:
    async with h.app.sessionmaker() as s:
        return list((await s.scalars(select(Organisation).order_by(Organisation.id))).all())


async def make_org(h, name: str, district_index: int = 0, org_type: str = "school") -> int:
    region_id, district_id = await place_ids(h, "abai", district_index)
    async with h.app.sessionmaker() as s:
        org = await orgs.resolve(s, orgs.Place(region_id, district_id, org_type), name)
        await s.commit()
        return org.id


async def member(h, tg_id: int, org_id: int, **fields) -> User:
    """A student of the record (as registration files them)."""
    student = await make_student(h, tg_id, **fields)
    async with h.app.sessionmaker() as s:
        row, org = await s.get(User, student.id), await s.get(Organisation, org_id)
        orgs.attach(row, org)
        await s.commit()
    return student


# --- registration ------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_the_first_types_the_name_the_next_picks_it(h, lang):
    first = h.user(301)
    await to_org_step(first, lang)
    assert {"kk": "атауын жазыңыз", "ru": "Напишите название"}[lang] in first.last_text()
    await first.send(AKSU)
    await first.click(FACTION[lang])
    assert await records(h) == []  # the name stays in the answers until consent
    await first.click(LEADER[lang])
    await first.send("9")
    await first.click("16–17")
    await first.click(AGREE[lang])
    [org] = await records(h)
    assert (org.name, org.key, org.created_by) == (AKSU, org_key(AKSU), (await stored(h, 301)).id)

    second = h.user(302)
    await to_org_step(second, lang)
    assert {"kk": "таңдаңыз", "ru": "Выберите"}[lang] in second.last_text()
    assert AKSU in second.buttons() and any(NOT_LISTED[lang] in b for b in second.buttons())
    await second.click(AKSU)
    await finish(second, lang)
    row = await stored(h, 302)
    assert (row.organisation_id, row.org_name) == (org.id, AKSU)
    assert len(await records(h)) == 1


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_search_by_a_part_and_a_duplicate_typed_differently(h, lang):
    aksu = await make_org(h, AKSU)
    for n in range(1, 9):  # more than a page
        await make_org(h, f"№{n} Семей мектеп-гимназиясы")
    u = h.user(303)
    await to_org_step(u, lang)
    assert AKSU not in u.buttons() and "▶️" in u.buttons()  # the first page, by name
    await u.send("ақсу")
    assert {"kk": "«ақсу» бойынша табылғандар", "ru": "Найдено по запросу «ақсу»"}[lang] \
        in u.last_text()
    assert AKSU in u.buttons()
    await u.click(AKSU)
    await finish(u, lang)
    assert (await stored(h, 303)).organisation_id == aksu

    again = h.user(304)
    await to_org_step(again, lang)
    await again.send("«Ақсу» ЖОМ № 45")  # quotes, the abbreviation, "№ 45" after the name
    assert {"kk": "Тізімнен табылды", "ru": "Найдено в списке"}[lang] in again.texts()[-2]
    await finish(again, lang)
    assert (await stored(h, 304)).organisation_id == aksu
    assert len(await records(h)) == 9


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_a_new_organisation_not_in_the_list(h, lang):
    await make_org(h, AKSU)
    u = h.user(305)
    await to_org_step(u, lang)
    await u.click(NOT_LISTED[lang])
    assert {"kk": "атауын жазыңыз", "ru": "Напишите название"}[lang] in u.last_text()
    await u.send("Абай атындағы №3 мектеп-лицей")
    await finish(u, lang)
    row = await stored(h, 305)
    new = [o for o in await records(h) if o.name == "Абай атындағы №3 мектеп-лицей"]
    assert len(new) == 1 and row.organisation_id == new[0].id and new[0].created_by == row.id

    # a search that finds nothing offers the typed text as a new one
    other = h.user(306)
    await to_org_step(other, lang)
    await other.send("Семей колледжі")
    assert {"kk": "ештеңе табылмады", "ru": "ничего не найдено"}[lang] in other.last_text()
    await other.click({"kk": "«Семей колледжі» қосу", "ru": "Добавить «Семей колледжі»"}[lang])
    await finish(other, lang)
    assert (await stored(h, 306)).org_name == "Семей колледжі"
    assert len(await records(h)) == 3


async def test_a_button_of_another_district_is_refused(h):
    elsewhere = await make_org(h, "Other school", district_index=1)
    u = h.user(307)
    await to_org_step(u, "ru")
    await make_org(h, AKSU)
    await u.press(f"og:pick:{elsewhere}")
    assert "больше нет в списке вашего района" in h.api.calls[-1].params.get("text", "")
    assert await stored(h, 307) is None


async def test_the_picker_on_whatsapp(db_url, clock):
    """Eight records and the page's buttons: a numbered menu of short titles."""
    h = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}), flood_limit=1000,
                           **WA_SETTINGS)
    wa = await attach_whatsapp(h)
    try:
        aksu = await make_org(h, AKSU)
        for n in range(1, 8):
            await make_org(h, f"№{n} Семей мектеп-гимназиясы")
        u = wa.user("KZ.22222222222222222222", "Айгерім")
        await u.send("/start")
        for option in ("Қазақша", "Парламент мүшесі", "Мектеп", "Абай облысы", "Семей"):
            await u.choose(option)
        await u.send("ақсу")  # the search: one match, and "Not in the list"
        await u.choose("№45 Ақсу")
        for option in ("Бақыт", "Фракция жетекшісі"):
            await u.choose(option)
        await u.send("9")
        await u.choose("16–17")
        await u.choose("Келісемін")
        async with h.app.sessionmaker() as s:
            row = await s.scalar(select(User).where(User.channel == "whatsapp"))
        assert row.organisation_id == aksu
        assert not wa.api.refused  # every title within WhatsApp's limits
    finally:
        await wa.close()
        await h.close()


# --- /profile ----------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_profile_picks_another_organisation(h, lang):
    aksu = await make_org(h, AKSU)
    lyceum = await make_org(h, "№2 лицей")
    student = await member(h, 308, aksu, locale=lang)
    u = h.user(308)
    await u.send("/profile")
    await u.click({"kk": "Ұйым", "ru": "Организация"}[lang])
    await u.click("№2 лицей")
    row = await stored(h, 308)
    assert (row.organisation_id, row.org_name) == (lyceum, "№2 лицей")
    assert "№2 лицей" in u.last_text()
    await u.click({"kk": "Ұйым", "ru": "Организация"}[lang])
    await u.send("45 ақсу жом")  # the full name, spelled otherwise: no choice needed
    assert (await stored(h, 308)).organisation_id == aksu
    assert student.id == row.id


# --- staff: /orgs and the merge --------------------------------------------------------------

async def merge_setup(h):
    """Two spellings that the key does not join (a typo), with people, an entry, a juror and
    points."""
    right = await make_org(h, AKSU)
    typo = await make_org(h, "№45 Аксу жалпы орта мектебі")  # "а" for "ә"
    a = await member(h, 310, right)
    b = await member(h, 311, typo)
    c = await member(h, 312, typo)
    async with h.app.sessionmaker() as s:
        s.add(Challenge(id=1, kind="contest", status="open", title_kk="Байқау",
                        description_kk="…", starts_at=h.app.now(), deadline_at=h.app.now()))
        await s.flush()
        s.add(Submission(challenge_id=1, user_id=b.id, content_kind="text", text="…",
                         status="approved", region_id=b.region_id, district_id=b.district_id,
                         organisation_id=typo, org_name="№45 Аксу жалпы орта мектебі"))
        s.add(JuryMember(challenge_id=1, user_id=c.id, region_id=None,
                         district_id=c.district_id, organisation_id=typo,
                         org_name="№45 Аксу жалпы орта мектебі"))
        for person, points in ((a, "submission"), (b, "submission"), (c, "challenge_join")):
            s.add(ActivityLog(user_id=person.id, kind=points, at=h.app.now(), role="student",
                              region_id=person.region_id, district_id=person.district_id))
        await s.commit()
    return right, typo


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_staff_merge_and_everything_follows(h, lang):
    right, typo = await merge_setup(h)
    await make_staff(h, locale=lang)
    staff = h.user(STAFF_ID)
    await staff.send("/leaderboard")
    assert staff.last_text().count("45") == 2  # two rows before the merge
    await staff.send("/orgs")
    await staff.click(REGION[lang])
    await staff.click("Семей")
    listing = staff.last_text()
    assert {"kk": ": 2 ұйым.", "ru": ": 2 организации."}[lang] in listing
    assert {"kk": "2 адам", "ru": "2 человека"}[lang] in listing
    await staff.click("№45 Аксу жалпы орта мектебі · 2")
    assert {"kk": "қай ұйымға біріктірілсін", "ru": "С какой организацией объединить"}[lang] \
        in staff.last_text()
    await staff.click(f"{AKSU} · 1")
    assert {"kk": "Мұны қайтару мүмкін емес", "ru": "Отменить это нельзя"}[lang] \
        in staff.last_text()
    await staff.click({"kk": "Біріктіру", "ru": "Объединить"}[lang])
    assert {"kk": "2 адам, 1 жұмыс, қазылар алқасындағы 1 орын",
            "ru": "2 человека, 1 работа, 1 место в жюри"}[lang] in staff.last_text()
    async with h.app.sessionmaker() as s:
        people = (await s.execute(select(User.organisation_id, User.org_name)
                                  .where(User.role == "student"))).all()
        entry = await s.scalar(select(Submission))
        juror = await s.scalar(select(JuryMember))
        gone = await s.get(Organisation, typo)
    assert set(people) == {(right, AKSU)}
    assert (entry.organisation_id, entry.org_name) == (right, AKSU)
    assert (juror.organisation_id, juror.org_name) == (right, AKSU)
    assert gone.merged_into_id == right
    await staff.send("/leaderboard")  # one row, with every point
    board = staff.last_text()
    assert board.count("45") == 1 and f"1. {AKSU} (" in board
    await staff.send("/orgs")
    await staff.click(REGION[lang])
    await staff.click("Семей")
    assert {"kk": ": 1 ұйым.", "ru": ": 1 организация."}[lang] in staff.last_text()
    assert {"kk": "3 адам", "ru": "3 человека"}[lang] in staff.last_text()
    # a picker button pressed before the merge lands on the record that stayed
    u = h.user(313)
    await to_org_step(u, lang)
    await u.press(f"og:pick:{typo}")
    await finish(u, lang)
    assert (await stored(h, 313)).organisation_id == right


async def test_merge_can_be_cancelled_and_recusal_follows_the_record(h):
    right, typo = await merge_setup(h)
    college = await make_org(h, "Семей колледжі", org_type="college")
    await make_staff(h)
    staff = h.user(STAFF_ID)
    await staff.send("/orgs")
    await staff.click("Abai Region")
    await staff.click("Semey")
    assert "Семей колледжі · 0" in staff.buttons()  # every type is listed
    await staff.click("№45 Аксу жалпы орта мектебі · 2")
    assert not any("колледжі" in b for b in staff.buttons())  # only schools into a school
    await staff.press(f"oga:dst:{college}")  # forged: refused, and nothing moved
    assert "same district and type" in h.api.calls[-1].params.get("text", "")
    await staff.click(f"{AKSU} · 1")
    await staff.click("Cancel")
    assert "Nothing was merged." in staff.last_text()
    assert (await records(h))[1].merged_into_id is None
    # recusal: one record, whatever the name copied on the entry
    entry = type("E", (), {"user_id": 1, "region_id": 5, "district_id": 7,
                           "org_name": "other spelling", "organisation_id": right})()
    assert recusal(entry, Seat(2, ((None, 7, AKSU, right),))) == "recused"
    assert recusal(entry, Seat(2, ((None, 7, AKSU, typo),))) is None


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_orgs_is_for_staff_only(h, lang):
    org = await make_org(h, AKSU)
    await member(h, 320, org, locale=lang)
    u = h.user(320)
    await u.send("/orgs")
    assert {"kk": "бұл команда сізге қолжетімді емес",
            "ru": "эта команда вам недоступна"}[lang] in u.last_text()
    await u.press(f"oga:src:{org}")
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Organisation).where(
            Organisation.merged_into_id.is_not(None))) == 0


# --- the migration's backfill ------------------------------------------------------------------

@pytest.mark.sqlite_only("the SQLite walk (test_postgres walks PostgreSQL)")
def test_backfill_makes_one_record_per_spelling_of_a_district(tmp_path):
    url = f"sqlite+inline:///{tmp_path}/m.db"
    upgrade(url, "0016")
    with sqlite3.connect(tmp_path / "m.db") as conn:
        d1, d2 = [r[0] for r in conn.execute("select id from districts where region_id = 1 "
                                             "order by id limit 2")]
        people = [(1, d1, "school", "№45 Ақсу ЖОМ"), (1, d1, "school", "«Ақсу жалпы орта "
                  "мектебі» № 45"), (1, d1, "school", "№45 Ақсу ЖОМ"), (1, d2, "school",
                  "№45 Ақсу ЖОМ"), (1, d1, "college", "№45 Ақсу ЖОМ"), (1, d1, "school", None)]
        for n, (r, d, t, name) in enumerate(people, start=1):
            conn.execute("insert into users (id, tg_id, channel, locale, role, status, "
                         "region_id, district_id, org_type, org_name, limited, blocked_bot, "
                         "settings, created_at, updated_at) values (?, ?, 'telegram', 'kk', "
                         "'student', 'active', ?, ?, ?, ?, 0, 0, '{}', '2026-01-01', "
                         "'2026-01-01')", (n, 1000 + n, r, d, t, name))
        # (sqlite3 leaves foreign keys off: the entry needs no challenge row here)
        conn.execute("insert into submissions (challenge_id, user_id, status, content_kind, "
                     "media, region_id, district_id, org_name, submitted_at) values "
                     "(1, 2, 'approved', 'text', '[]', 1, ?, 'Ақсу ЖОМ №45', '2026-01-02')",
                     (d1,))
    upgrade(url, "0017")
    with sqlite3.connect(tmp_path / "m.db") as conn:
        recs = conn.execute("select id, district_id, org_type, name from organisations "
                            "order by id").fetchall()
        users = dict(conn.execute("select id, organisation_id from users").fetchall())
        entry = conn.execute("select organisation_id from submissions").fetchone()[0]
        names = dict(conn.execute("select id, org_name from users").fetchall())
    assert len(recs) == 3  # d1 school, d1 college, d2 school
    by = {(d, t): (i, n) for i, d, t, n in recs}
    school = by[(d1, "school")]
    assert school[1] == "№45 Ақсу ЖОМ"  # the most common spelling names the record
    assert users[1] == users[2] == users[3] == school[0] and users[6] is None
    assert users[4] == by[(d2, "school")][0] and users[5] == by[(d1, "college")][0]
    assert entry == school[0]
    assert names[2] == "«Ақсу жалпы орта мектебі» № 45"  # org_name kept as it was


async def test_opposite_merges_at_once_never_make_a_loop(h):
    """Two staff merge A into B and B into A at the same moment: the second sees rows read
    before the first committed. It must re-read them (locked on PostgreSQL) and refuse, not
    point B back at A: a loop would hide the school from every list."""
    from bot.services.errors import DomainError

    a, b = await make_org(h, "№7 мектеп"), await make_org(h, "№8 мектеп")
    staff = await make_staff(h)
    async with h.app.sessionmaker() as late:
        seen = [await late.get(Organisation, a), await late.get(Organisation, b)]  # read...
        await late.commit()
        async with h.app.sessionmaker() as first:  # ...the other merge lands
            await orgs.merge(first, staff, a, b)
            await first.commit()
        with pytest.raises(DomainError) as refused:
            await orgs.merge(late, staff, b, a)
        await late.rollback()
        assert len(seen) == 2
    assert refused.value.code == "org_gone"
    found = {o.id: o.merged_into_id for o in await records(h)}
    assert (found[a], found[b]) == (b, None)
