"""Integrity findings of the 2026-12 security review: the jury (M5), revocable staff (L7),
certificate numbers and /verify (L6), the access check's command parsing (I2) and numbers
written with other digits (I3). Each test is named after its finding."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from db.models.challenges import JuryScore
from tests.conftest import STAFF_ID
from tests.factories import make_staff, make_student
from tests.harness import BotHarness, make_harness, on_postgres
from tests.test_challenges import new_challenge
from tests.test_challenges_jury import submit


@pytest.fixture
async def h(db_url, clock) -> AsyncIterator[BotHarness]:
    """SQLite or PostgreSQL (TEST_DB), without the flood limit: these are long walks."""
    harness = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}),
                                 flood_limit=100_000)
    yield harness
    await harness.close()


async def all_scores(h) -> list[tuple[int, int, int, int]]:
    """(entry, juror's user id, criterion, score) of every stored score."""
    async with h.app.sessionmaker() as db:
        return sorted((await db.execute(select(
            JuryScore.submission_id, JuryScore.juror_id, JuryScore.criterion,
            JuryScore.score))).all())


async def jury_of(h, cid: int, quorum: int, *juror_tgs: int) -> None:
    """Staff set one criterion and the quorum, and add the jurors (as the panel does)."""
    s = h.user(STAFF_ID)
    await s.send(f"/jury {cid}")
    await s.click("Criteria")
    await s.send("Идея | Идея | Idea")
    await s.click("Quorum")
    await s.send(str(quorum))
    for tg in juror_tgs:
        await s.click("Add a juror")
        await s.send(str(tg))
    await h.drain()


def entry_shown(u) -> int | None:
    text = u.last_text()
    return int(text.split("Entry No. ")[1].split("<")[0].split()[0]) \
        if "Entry No. " in text else None


async def move(h, tg: int, region: str, district: str) -> None:
    """The person moves in /profile, through the region and district picker."""
    u = h.user(tg)
    await u.send("/profile")
    await u.click("Region and district")
    await u.click(region)
    await u.send(district)
    await u.click(district)
    assert "Saved." in u.last_text()


# --- M5: the jury ---------------------------------------------------------------------------

async def test_m5_juror_cannot_score_own_entry_after_region_change(h):
    """The review's p12: a student juror with an entry of their own moves to another region
    and scores it. Own entries are never theirs to judge, and the region they had when added
    to the jury (and the one they have now) stays recused."""
    await make_staff(h)
    cid = await new_challenge(h, "contest", content=("text",))
    await make_student(h, 301, org_name="School 301")  # Abai: juror and participant
    await make_student(h, 102, org_name="School 102")  # Abai
    await make_student(h, 103, region_code="astana", org_name="School 103")
    for tg in (301, 102, 103):
        await submit(h, tg, cid, f"entry of {tg}")
    for n in (1, 2, 3):
        await h.user(STAFF_ID).press(f"rv:ok:{n}:")
    await jury_of(h, cid, 1, 301)
    j = h.user(301)
    await j.press("ch:js:1:0_10")
    assert j.last_text() == "You cannot judge your own entry."
    await move(h, 301, "Almaty Region", "Talgar")
    await j.press("ch:js:1:0_10")  # own entry, whatever the region now
    assert j.last_text() == "You cannot judge your own entry."
    await j.press("ch:js:2:0_10")  # Abai, the region they had when added to the jury
    assert j.last_text() == "You cannot judge entries from your own region or organisation."
    await j.click("Start judging")
    assert entry_shown(j) == 3  # only the Astana entry is offered
    await j.press("ch:js:3:0_7")
    assert "every entry that needs your score" in j.last_text()
    # moving again, now into Astana: the current region is recused too
    await move(h, 301, "Astana", "Almaty District")
    await j.press("ch:js:3:0_9")
    assert j.last_text() == "You cannot judge entries from your own region or organisation."
    juror_id = await user_id(h, 301)
    assert await all_scores(h) == [(3, juror_id, 0, 7)]
    s = h.user(STAFF_ID)
    await s.send(f"/jury {cid}")
    assert ": 1 / 0" not in s.last_text()  # nothing left: said so, not "0 / 0"
    assert ": recused from every entry (own region or organisation)" in s.last_text()


async def user_id(h, tg: int) -> int:
    from db.models import User

    async with h.app.sessionmaker() as db:
        return await db.scalar(select(User.id).where(User.tg_id == tg))


async def test_m5_forged_score_for_an_entry_never_offered_is_refused(h):
    """The review's p12b: juror 2 is offered No. 2 and forges a 0 for No. 1, which already
    has its quorum. Only the offered entry (or one already started) takes a score."""
    await make_staff(h)
    cid = await new_challenge(h, "contest", content=("text",))
    for tg in (101, 102, 103):
        await make_student(h, tg, org_name=f"School {tg}")
        await submit(h, tg, cid, f"entry of {tg}")
        await h.user(STAFF_ID).press(f"rv:ok:{tg - 100}:")
    await make_student(h, 301, region_code="astana", org_name="Jury 1")
    await make_student(h, 302, region_code="astana", org_name="Jury 2")
    await jury_of(h, cid, 1, 301, 302)
    j1, j2 = h.user(301), h.user(302)
    await j1.click("Start judging")
    assert entry_shown(j1) == 1
    await j1.press("ch:js:1:0_9")  # No. 1 has its quorum
    await j2.click("Start judging")
    assert entry_shown(j2) == 2
    before = await all_scores(h)
    await j2.press("ch:js:1:0_0")  # forged: never offered, past the quorum
    assert j2.texts()[-3] == ("Entry No. 1 is not the one waiting for your score: jurors "
                              "score the entries the bot gives them.")
    # and the entry that does wait for them comes again
    assert j2.texts()[-2] == "entry of 102" and entry_shown(j2) == 2
    await j2.press("ch:js:3:0_10")  # forged: short of the quorum, but not offered
    assert "Entry No. 3 is not the one waiting for your score" in j2.texts()[-3]
    assert await all_scores(h) == before
    # offered, then the quorum is reached by someone else before the juror scores it
    await j1.click("Start judging")
    assert entry_shown(j1) == 2
    await j2.press("ch:js:2:0_6")
    await j1.press("ch:js:2:0_1")
    assert j1.texts()[-3] == "Entry No. 2 already has all the scores it needs."
    assert entry_shown(j1) == 3
    await j1.press("ch:js:3:0_8")  # the offered one is taken
    j1_id, j2_id = await user_id(h, 301), await user_id(h, 302)
    assert await all_scores(h) == [(1, j1_id, 0, 9), (2, j2_id, 0, 6), (3, j1_id, 0, 8)]
    # an entry once started keeps taking its scores (an old button changes one)
    await j1.press("ch:js:1:0_7")
    assert (1, j1_id, 0, 7) in await all_scores(h)


async def test_m5_forged_score_buttons_of_another_contest_or_criterion_are_refused(h):
    """Only entries of the contest the juror judges, only its criteria and 0-10, and a
    mangled button gets an answer too."""
    await make_staff(h)
    judged = await new_challenge(h, "contest", content=("text",))
    other = await new_challenge(h, "contest", content=("text",))
    await make_student(h, 101, org_name="School 101")
    await make_student(h, 102, org_name="School 102")
    await submit(h, 101, judged, "entry in the judged contest")
    await submit(h, 102, other, "entry in another contest")
    for n in (1, 2):
        await h.user(STAFF_ID).press(f"rv:ok:{n}:")
    await make_student(h, 301, region_code="astana", org_name="Jury")
    await jury_of(h, judged, 1, 301)
    j = h.user(301)
    await j.click("Start judging")
    assert entry_shown(j) == 1
    await j.press("ch:js:2:0_10")
    assert j.last_text() == "You are not on the jury of this contest."
    await j.press("ch:js:1:7_10")
    assert j.last_text() == "This criterion does not exist for entry No. 1."
    await j.press("ch:js:1:0_11")
    assert j.last_text() == "A score is a whole number from 0 to 10."
    for mangled in ("ch:js:1:0_²", "ch:js:1:٠_5", "ch:js:1:0_+5", "ch:js:1:x", "ch:js:1_0:0_5"):
        calls = await j.press(mangled)
        assert [(c.method, c.params.get("text")) for c in calls] == [
            ("answerCallbackQuery", "This button is no longer active.")], mangled
    assert await all_scores(h) == []


async def test_m5_m7_deleteme_clears_the_jurys_snapshots_of_the_organisation(h, db_url):
    """Recusal keeps the organisation an entry was sent from and a juror's when added:
    personal data too. /deleteme clears both, and on SQLite (secure_delete, the log emptied)
    the name is gone from the database file as well."""
    from pathlib import Path

    from db.models.challenges import JuryMember, Submission

    school = "Zarechnyunique Lyceum"
    await make_staff(h)
    cid = await new_challenge(h, "contest", content=("text",))
    await make_student(h, 301, region_code="astana", org_name=school)
    await submit(h, 301, cid, "entry of 301")
    await h.user(STAFF_ID).press("rv:ok:1:")
    await jury_of(h, cid, 1, 301)

    async def snapshots() -> list[str | None]:
        async with h.app.sessionmaker() as db:
            return [*(await db.scalars(select(Submission.org_name))).all(),
                    *(await db.scalars(select(JuryMember.org_name))).all()]

    assert await snapshots() == [school, school]
    u = h.user(301)
    await u.send("/deleteme")
    await u.click("Yes, erase")
    assert "erased" in u.last_text()
    await h.drain()
    assert await snapshots() == [None, None]
    if not on_postgres():  # SQLite's own files
        assert await h.app.checkpointer.wait_truncated(timeout=30)
        raw = b"".join(path.read_bytes() for path in (Path(db_url), Path(f"{db_url}-wal"))
                       if path.exists())
        assert len(raw) > 100_000 and school.encode() not in raw


# --- I3: numbers are ASCII digits -----------------------------------------------------------

APOLOGY = "Sorry, something went wrong. Please try again."
DIGITS = {"en": "Please write numbers with the ordinary digits 0–9.",
          "ru": "Пожалуйста, пишите числа обычными цифрами 0–9.",
          "kk": "Сандарды кәдімгі 0–9 цифрларымен жазыңыз."}


@pytest.mark.parametrize("locale", ["kk", "ru", "en"])
async def test_i3_a_number_in_other_digits_is_no_number_and_the_reply_says_so(h, locale):
    """The review's `/report ²` crashed the handler; "٢٠٢٦" (Arabic-Indic) was read as 2026."""
    await make_staff(h, locale=locale)
    s = h.user(STAFF_ID)
    for text in ("/report ²", "/report ٢٠٢٦", "/stats ٢٠٢٦", "/export_challenge ３",
                 "/leaderboard challenge ٣", "/invite regional abai days=²"):
        calls = await s.send(text)
        assert [c.text for c in calls if c.method == "sendMessage"] == [DIGITS[locale]], text


async def test_i3_typed_answers_and_buttons_with_other_digits_never_fail(h):
    """Wizard answers and forged buttons carrying "²" or "٣": a clear answer, never the
    error handler's apology, and nothing stored."""
    await make_staff(h)
    cid = await new_challenge(h, "contest", content=("text",))
    s = h.user(STAFF_ID)
    # a typed answer in a wizard: the prompt stays and says what to type
    await s.send("/newwebinar")
    for answer in ("Title kk", "Title ru", "Title en", "Сипаттама", "Описание", "About"):
        await s.send(answer)
    await s.send("٢٠.٠٣.٢٠٣٠ ١٥:٠٠")  # the date, in Arabic-Indic digits
    assert s.last_text() == DIGITS["en"]
    await s.send("20.03.2030 15:00")
    await s.send("٩٠")  # the duration
    assert s.last_text() == DIGITS["en"]
    await s.send("/cancel")
    # registration: a forged district button, a grade in other digits
    u = h.user(555)
    await u.send("/start")
    await u.click("English")
    await u.click("Parliament member")
    await u.click("School")
    await u.click("Abai Region")
    for forged in ("reg:district:²", "reg:district:٣"):
        calls = await u.press(forged)
        assert [(c.method, c.params.get("text")) for c in calls] == [
            ("answerCallbackQuery", "Unknown district.")], forged
    await u.click("Semey")
    await u.send("School No. 7")
    await u.click("Happiness")
    await u.click("Faction leader")
    await u.send("٩")
    assert DIGITS["en"] in u.texts()[-2:]
    await u.send("9")
    assert "16–17" in u.buttons()
    # a coordinator's broadcast audience with a forged challenge key
    from tests.factories import make_coordinator

    await make_coordinator(h, 201)
    await make_student(h, 101)
    await submit(h, 101, cid, "an entry")
    c = h.user(201)
    await c.send("/broadcast")
    await c.send("Hello")
    for forged in ("bc:aud:chp.²", "bc:aud:chp.٣", "bc:aud:wreg.²"):
        calls = await c.press(forged)
        texts = [call.params.get("text") for call in calls]
        assert APOLOGY not in texts and texts == ["Nobody in this audience yet. Choose "
                                                  "another one."], forged
    assert APOLOGY not in [call.params.get("text") for call in h.api.calls]


# --- I2: the access check reads a command as aiogram does -----------------------------------

REFUSAL = "Sorry, this command is not available to you."
SPELLINGS = ("/{c}", "/{c} 5", "/{c}@" + "{bot}", "/{C}", "\u00a0/{c}", "\u3000/{c}",
             " \u00a0 /{c}\u00a05", "/{c}\u00a05")


async def test_i2_every_spelling_of_a_command_meets_the_access_check(h):
    """The review's p16 spellings: a leading NBSP or ideographic space, @botname, upper case,
    NBSP before the arguments, and the same as a photo caption. aiogram's Command filter
    reads " /pending" as /pending; so must the access check, for every command a lower role
    may not use (today it passed them on, and only the routers' gates stopped them)."""
    from bot.access import COMMAND_ROLES
    from bot.local_api import BOT_USERNAME
    from bot.services.users import ROLES
    from tests.factories import make_coordinator

    await make_student(h, 12)
    await make_coordinator(h, 13, status="pending")
    await make_coordinator(h, 14)
    await make_staff(h)
    people = {"guest": 11, "student": 12, "pending": 13, "coordinator": 14}
    wrong = []
    for role, tg in people.items():
        u = h.user(tg, language_code="en")
        refusal = REFUSAL + ("\nYou are not registered yet. Send /start." if role == "guest"
                             else "")
        for command, roles in sorted(COMMAND_ROLES.items()):
            if role in roles:
                continue
            for spelling in SPELLINGS:
                text = spelling.format(c=command, C=command.upper(), bot=BOT_USERNAME)
                for calls in (await u.send(text), await u.send_content(
                        photo=[{"file_id": "AgP", "file_unique_id": "uP", "width": 9,
                                "height": 9}], caption=text)):
                    replies = [c.text for c in calls if c.chat_id == tg]
                    if replies != [refusal]:
                        wrong.append((role, text, replies))
    assert not wrong, wrong[:10]
    assert set(people) | {"staff"} == set(ROLES)
    # staff: the spaced spellings run the command, as aiogram matches them
    s = h.user(STAFF_ID)
    for text in ("\u00a0/pending", "\u3000/pending", "/pending@" + BOT_USERNAME):
        replies = [c.text for c in await s.send(text) if c.method == "sendMessage"]
        # the count, then the queue by area (issue 17)
        assert replies[0].startswith("Coordinators waiting for approval: 1.\n• "), text



def test_i2_l5_the_error_log_names_a_command_as_the_access_rule_reads_it():
    """The failure log (handlers.shared.errors.describe) shares bot.access.command_of: a command
    after a no-break space, in capitals, with @bot or in a photo's caption is named as the
    command it ran as; what is not one of our names stays out (nothing typed is logged)."""
    from aiogram.types import Update

    from handlers.shared.errors import describe

    def message(**fields) -> Update:
        return Update.model_validate({"update_id": 1, "message": {
            "message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, **fields}})

    photo = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
    assert describe(message(text="\u00a0/Pending@mektep_bot")) == "message /pending"
    assert describe(message(caption="/broadcast hello", photo=photo)) == "message /broadcast"
    assert describe(message(text="/report² 2026")) == "message text"
    assert describe(message(text="Aida Nurlanova")) == "message text"

# --- L7: staff rights can be revoked --------------------------------------------------------

async def role_of(h, tg: int) -> str:
    from db.models import User

    async with h.app.sessionmaker() as db:
        return await db.scalar(select(User.role).where(User.tg_id == tg))


async def test_l7_staff_rights_are_revoked_with_demote_asked_first_and_logged(h):
    from db.models import ActivityLog

    await make_staff(h)  # 900, in STAFF_IDS
    second = await make_staff(h, 901)  # promoted earlier, not in STAFF_IDS
    s, other = h.user(STAFF_ID), h.user(901)
    await s.send("/demote 901")
    prompt = s.last_text()
    assert prompt.startswith("Take away this person's staff rights?")
    assert "Centre Staff" in prompt and "This is you" not in prompt  # whom, before anything
    await s.click("Cancel")
    assert s.last_text() == "Cancelled. Nothing was saved." and await role_of(h, 901) == "staff"
    await s.send("/demote 901")
    await s.click("Yes, take staff rights away")
    assert s.last_text() == "Centre Staff is no longer centre staff."
    assert await role_of(h, 901) == "student"
    await other.send("/pending")  # at once: no restart, no cache left behind
    assert other.last_text() == "Sorry, this command is not available to you."
    await other.send("/help")
    assert "/demote" not in other.last_text() and "/challenges" in other.last_text()
    await h.drain()
    assert "You are no longer centre staff. Send /help to see your commands." in other.texts()
    async with h.app.sessionmaker() as db:
        logged = (await db.execute(select(ActivityLog.kind, ActivityLog.ref_id).where(
            ActivityLog.kind == "demote_staff"))).all()
    assert logged == [("demote_staff", second.id)]
    # an old confirmation does it once; demoting someone who is not staff is refused
    await s.send("/demote 901")
    assert s.last_text() == "This user is not centre staff."
    await s.send("/demote 12345")
    assert s.last_text() == "No registered user has the Telegram id 12345."


@pytest.mark.parametrize(("locale", "first_line"), [
    ("kk", "Бұл адамнан қызметкер құқықтарын алып тастау керек пе?"),
    ("ru", "Лишить этого человека прав сотрудника?"),
])
async def test_l7_demote_asks_in_the_staff_members_language(h, locale, first_line):
    await make_staff(h, locale=locale)
    await make_staff(h, 901)
    await h.user(STAFF_ID).send("/demote 901")
    assert h.user(STAFF_ID).last_text().startswith(first_line)


async def test_l7_the_last_staff_member_cannot_demote_themself(h):
    await make_staff(h)
    s = h.user(STAFF_ID)
    await s.send(f"/demote {STAFF_ID}")
    assert s.last_text().startswith("This is the only staff member left")
    await s.press(f"dmt:{STAFF_ID}:1")  # a forged confirmation changes nothing either
    assert s.last_text().startswith("This is the only staff member left")
    assert await role_of(h, STAFF_ID) == "staff"


async def test_l7_a_demoted_id_in_staff_ids_stays_demoted_and_the_start_says_so(
        h, db_url, clock, caplog):
    """Self-demotion with another staff member left; STAFF_IDS does not bring the rights
    back at the next start (a WARNING names the id), /promote does."""
    await make_staff(h)
    await make_staff(h, 901)
    s = h.user(STAFF_ID)
    await s.send(f"/demote {STAFF_ID}")
    assert "This is you" in s.last_text() and "STAFF_IDS" in s.last_text()
    await s.click("Yes, take staff rights away")
    assert await role_of(h, STAFF_ID) == "student"
    caplog.clear()
    again = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}))
    try:
        assert await role_of(again, STAFF_ID) == "student"
        warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert ("in STAFF_IDS but demoted with /demote (not restored; /promote restores): "
                f"{STAFF_ID}") in warnings
        assert ("staff in the database but not in STAFF_IDS (they stay staff; /demote "
                "revokes): 901") in warnings
        await again.user(901).send(f"/promote {STAFF_ID}")
        await again.user(901).click("Yes, make staff")
        await again.user(STAFF_ID).send("/pending")
        assert again.user(STAFF_ID).last_text() == "No coordinators are waiting for approval."
    finally:
        await again.close()


async def test_l7_removing_an_id_from_staff_ids_is_reported_at_start(h, db_url, clock,
                                                                     caplog):
    """STAFF_IDS bootstraps: a registered id in it becomes staff at start; taking it out
    revokes nothing (README: /demote does) and the start names it in a WARNING."""
    await make_student(h, 777)  # registered as a member first
    caplog.set_level(logging.INFO, logger="bot.services.staff")
    with_it = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID, 777}))
    await with_it.close()
    assert await role_of(h, 777) == "staff"
    assert any(r.getMessage() == "STAFF_IDS made staff: 777" for r in caplog.records)
    caplog.clear()
    without = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}))
    try:
        assert await role_of(without, 777) == "staff"
        assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
            "staff in the database but not in STAFF_IDS (they stay staff; /demote revokes): "
            "777"]
    finally:
        await without.close()


# --- L6: certificate numbers and /verify ----------------------------------------------------

async def webinar_certificates(h, *people: tuple[int, str, str]) -> list:
    """A webinar attended by (tg id, full name, school) people; their certificates issued."""
    from bot.services import certificates as certs
    from db.models import Certificate
    from tests.test_certificates import attend, student, webinar

    wid = await webinar(h)
    for tg, name, school in people:
        await attend(h, wid, await student(h, tg, name, locale="en", org=school))
    async with h.app.sessionmaker() as db:
        await certs.issue(db, certs.Source("webinar", wid), None, h.app.now(),
                          h.app.settings.tz)
        await db.commit()
        return list((await db.scalars(select(Certificate).order_by(Certificate.id))).all())


async def test_l6_certificate_numbers_carry_80_random_bits_and_old_ones_still_verify(h):
    """The review: D26-000123-ABCD was a sequential id and 20 random bits (about 0.5 M
    guesses). Now the id is gone and 16 characters of a 32-letter alphabet are random."""
    import re

    from bot.services import certificates as certs
    from db.models import Certificate

    issued = await webinar_certificates(h, (101, "Aida Nurlanova", "School No. 7"),
                                        (102, "Ivan Kim", "School No. 8"))
    for cert in issued:
        letter_year, *groups = cert.number.split("-")
        assert letter_year == "W26" and [len(g) for g in groups] == [4, 4, 4, 4]
        assert set("".join(groups)) <= set(certs.CHECK_ALPHABET)  # 32 letters: 5 bits each
        assert f"{cert.id:06d}" not in cert.number and len(certs.CHECK_ALPHABET) ** 16 >= 2 ** 80
    many = {certs.make_number("winner", 2026) for _ in range(2000)}
    assert len(many) == 2000  # nothing to count up from one to the next
    # a pre-2027 number stays valid; so does a new one typed without dashes, in lower case
    async with h.app.sessionmaker() as db:
        old = await db.get(Certificate, issued[1].id)
        old.number = "W26-000002-K7QF"
        await db.commit()
    guest = h.user(555, language_code="en")
    await guest.send("/verify W26-000002-K7QF")
    assert guest.last_text().startswith("✅") and "Ivan K." in guest.last_text()
    compact = re.sub("-", "", issued[0].number).lower()
    await guest.send(f"/verify {compact}")
    assert guest.last_text().startswith("✅") and issued[0].number in guest.last_text()


async def test_l6_verify_shows_what_a_verifier_needs_and_masks_the_holder(h):
    """Genuine or revoked, what for, when, and the holder as "Aida N." of their region:
    never the full name or the school (minors and adults alike: README, Certificates)."""
    [cert] = await webinar_certificates(h, (101, "Aida Nurlanova", "School-gymnasium No. 7"))
    await make_staff(h)
    guest = h.user(555, language_code="en")
    await guest.send(f"/verify {cert.number}")
    assert guest.last_text() == (
        "✅ <b>The certificate is genuine.</b>\n"
        f"No. {cert.number}\n"
        "Issued to: Aida N.\n"
        "Region: Abai Region\n"
        "For: Webinar attendance certificate · «Self-government»\n"
        "Date of issue: 02.03.2026")
    await h.user(STAFF_ID).send(f"/certificates revoke {cert.number} wrong person")
    await guest.send(f"/start v_{cert.number}")
    text = guest.last_text()
    assert text.startswith(f"⛔ <b>Certificate {cert.number} was revoked</b> on 02.03.2026. "
                           "It had been issued to Aida N. (Abai Region) on 02.03.2026:")
    assert "Nurlanova" not in text and "School" not in text and "gymnasium" not in text


async def test_l6_m4_verify_names_no_minor_still_waiting_for_a_guardian(h):
    """A certificate issued before the minors' limit existed, whose holder now waits for a
    guardian's confirmation: /verify still says genuine, but shows the holder as staff
    exports do (no name, no region); once the guardian confirms, as "Aida N." again."""
    from sqlalchemy import update

    from db.models import User

    [cert] = await webinar_certificates(h, (101, "Aida Nurlanova", "School No. 7"))
    async with h.app.sessionmaker() as db:
        await db.execute(update(User).where(User.id == cert.user_id).values(limited=True))
        await db.commit()
    guest = h.user(555, language_code="en")
    await guest.send(f"/verify {cert.number}")
    assert guest.last_text() == (
        "✅ <b>The certificate is genuine.</b>\n"
        f"No. {cert.number}\n"
        "Issued to: waiting for a guardian's confirmation\n"
        "Region: —\n"
        "For: Webinar attendance certificate · «Self-government»\n"
        "Date of issue: 02.03.2026")
    russian = h.user(556, language_code="ru")
    await russian.send(f"/verify {cert.number}")
    assert "ожидает подтверждения родителя" in russian.last_text()
    assert "Aida" not in russian.last_text() and "Abai" not in russian.last_text()
    async with h.app.sessionmaker() as db:
        await db.execute(update(User).where(User.id == cert.user_id).values(limited=False))
        await db.commit()
    await guest.send(f"/verify {cert.number}")
    assert "Issued to: Aida N.\nRegion: Abai Region" in guest.last_text()


async def test_l6_guessing_numbers_is_cut_off_after_20_misses_an_hour(h, clock):
    [cert] = await webinar_certificates(h, (101, "Aida Nurlanova", "School No. 7"))
    guesser = h.user(666, language_code="ru")
    for n in range(20):
        await guesser.send(f"/verify W26-{n:06d}-ABCD")
        assert guesser.last_text().startswith("❓")
    await guesser.send(f"/verify {cert.number}")  # even a real one: no more lookups
    assert guesser.last_text() == ("Слишком много номеров, которым не соответствует ни один "
                                   "сертификат. Проверьте номер и попробуйте через час.")
    await h.user(667).send(f"/verify {cert.number}")  # someone else is not held up
    assert h.user(667).last_text().startswith("✅")
    clock.advance(hours=1, seconds=1)
    await guesser.send(f"/verify {cert.number}")
    assert guesser.last_text().startswith("✅")


async def test_l7_two_staff_demoting_each_other_at_once_leave_one(h):
    """Both confirmations at the same moment: one wins, the other is told it would leave no
    staff (rows locked on PostgreSQL, one writer on SQLite)."""
    import asyncio

    from bot.services import staff
    from bot.services.errors import DomainError
    from db.models import User

    await make_staff(h)
    await make_staff(h, 901)

    async def demote(actor_tg: int, target_tg: int) -> str:
        async with h.app.sessionmaker() as db:
            actor = await db.scalar(select(User).where(User.tg_id == actor_tg))
            try:
                await staff.demote(db, h.app.users, actor, target_tg, h.app.now())
                await asyncio.sleep(0.05)  # both are in flight before either commits
                await db.commit()
                return "demoted"
            except DomainError as exc:
                await db.rollback()
                return exc.code

    outcomes = await asyncio.gather(demote(STAFF_ID, 901), demote(901, STAFF_ID))
    assert sorted(outcomes) == ["demoted", "last_staff"]
    roles = [await role_of(h, STAFF_ID), await role_of(h, 901)]
    assert sorted(roles) == ["staff", "student"]
