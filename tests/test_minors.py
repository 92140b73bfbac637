"""Minors waiting for a guardian's confirmation (review 2026-12: M3, M4, I6).

A child's limits are stored with the registration itself, and until a guardian confirms the
account takes part only as the model's comment on `User.limited` says: the walk at the end
of this file checks each line of that comment.
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aiogram.exceptions import TelegramForbiddenError
from aiogram.methods import SendMessage
from openpyxl import load_workbook
from sqlalchemy import select, update

from bot.callbacks import ChallengeCD
from bot.local_api import ApiCall
from bot.scheduler import certificates_tick
from bot.services import certificates
from db.models import (
    Certificate,
    Challenge,
    ChallengeParticipant,
    Submission,
    User,
    WebinarRegistration,
)
from tests.factories import make_coordinator, make_staff, make_student


def fail_once(h, method: str = "sendMessage", chat_id: int | None = None):
    """The next `method` call (to `chat_id`) raises 403, as when the user blocks the bot."""
    state = {"left": 1}

    def fault(call: ApiCall) -> None:
        if call.method == method and (chat_id is None or call.chat_id == chat_id) \
                and state["left"]:
            state["left"] -= 1
            raise TelegramForbiddenError(
                method=SendMessage(chat_id=call.chat_id or 0, text="-"),
                message="Forbidden: bot was blocked by the user")

    h.api.fault = fault
    return state


async def answer_until_consent(u, age_button: str = "Under 14") -> None:
    await u.send("/start")
    await u.click("English")
    for button in ("Parliament member", "School", "Abai Region", "Semey"):
        await u.click(button)
    await u.send("School No. 3")
    await u.click("Care")
    await u.click("Faction member")
    await u.send("7")
    await u.click(age_button)
    assert "Consent to the processing of personal data" in u.last_text()


async def stored(h, tg_id: int) -> User | None:
    async with h.app.sessionmaker() as s:
        return await s.scalar(select(User).where(User.tg_id == tg_id))


# --- M3: the limits are stored with the registration, before any reply ----------------------

async def test_m3_minor_limits_stored_before_first_reply(h):
    from tests.test_challenges import new_challenge

    await new_challenge(h, "challenge", content=("photo", "text"))
    u = h.user(501, "Dana")
    await answer_until_consent(u)
    left = fail_once(h, "sendMessage", chat_id=501)  # "Registration complete" fails
    await u.click("I agree")
    h.api.fault = None
    assert left["left"] == 0, "the reply after consent was never attempted"
    child = await stored(h, 501)
    assert (child.status, child.age_band, child.limited) == ("active", "u14", True)
    assert child.guardian_token, "no guardian link could ever be sent"

    # The child's next entry is refused, and /profile still gives the guardian link.
    await u.send("/challenges")
    await u.click("My class")
    await u.click("Send my entry")
    assert "has to confirm your account first" in u.last_text()
    assert f"?start=g_{child.guardian_token}" in u.last_text()
    await u.send("/profile")
    assert f"?start=g_{child.guardian_token}" in u.last_text()


async def test_m3_adult_student_is_stored_unlimited_with_its_band(h):
    u = h.user(502)
    await answer_until_consent(u, "16–17")
    fail_once(h, "sendMessage", chat_id=502)
    await u.click("I agree")
    h.api.fault = None
    adult = await stored(h, 502)
    assert (adult.age_band, adult.limited, adult.guardian_token) == ("16_17", False, None)


async def test_m3_a_student_without_an_age_band_is_stored_limited(h):
    """Fail safe: answers that somehow lack the band never make an unlimited student."""
    from bot.services import registration as reg

    answers = reg.Registration(locale="en", role="student", org_type="school",
                               org_name="School No. 3", faction="care", position="member",
                               grade="7")
    async with h.app.sessionmaker() as s:
        user = await reg.complete_registration(s, h.app.users, 505, 505, answers, "v1", False,
                                               now=h.app.now(), guardian_age=16)
        await s.commit()
    assert (user.age_band, user.limited) == (None, True) and user.guardian_token


async def test_m3_guardian_confirmation_notice_survives_a_failed_reply(h):
    """The student's "your guardian confirmed" notice is queued with the confirmation, not
    after the reply to the guardian (who may block the bot right after pressing)."""
    u = h.user(503, "Dana")
    await answer_until_consent(u)
    await u.click("I agree")
    token = re.search(r"start=g_([\w-]+)", next(
        t for t in u.texts() if "account is limited" in t)).group(1)
    parent = h.user(778, "Parent", language_code="en")
    await parent.send(f"/start g_{token}")
    fail_once(h, "sendMessage", chat_id=778)  # "Thank you! The account is now confirmed."
    await parent.click("I confirm")
    h.api.fault = None
    assert (await stored(h, 503)).limited is False
    await h.drain()
    assert "confirmed your account" in u.last_text()


async def test_m3_erasure_is_done_even_when_the_reply_fails(h):
    """/deleteme → Yes erases the data before anything is sent back: a person who blocks the
    bot right after pressing is still erased."""
    await make_student(h, 504)
    u = h.user(504)
    await u.send("/deleteme")
    fail_once(h, "editMessageReplyMarkup", chat_id=504)
    await u.click("Yes, erase my data")
    h.api.fault = None
    assert await stored(h, 504) is None  # the Telegram id is gone: erased


# --- M4 + I6: what a minor waiting for a guardian takes part in, and where they appear -------

MINOR, ADULT, COORDINATOR, STAFF = 601, 602, 201, 900
MINOR_NAME, MINOR_ORG, MINOR_TEXT = "Dana Hidden", "Lyceum Hidden", "Minor secret text"
ADULT_NAME, ADULT_ORG = "Aida Open", "School No. 7"
WAITING = "waiting for a guardian's confirmation"
REFUSAL_RU = "Сначала вашу учётную запись должен подтвердить родитель"


async def make_minor(h, tg_id: int = MINOR, locale: str = "ru") -> User:
    """A student under 14 whose guardian has not confirmed yet (as registration stores one)."""
    user = await make_student(h, tg_id, locale=locale, org_name=MINOR_ORG)
    async with h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.id == user.id).values(
            full_name=MINOR_NAME, age_band="u14", limited=True, guardian_token=f"tok{tg_id}"))
        await s.commit()
    h.app.users.forget(tg_id)
    return await stored(h, tg_id)


async def make_adult(h, tg_id: int = ADULT) -> User:
    user = await make_student(h, tg_id, org_name=ADULT_ORG)
    async with h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.id == user.id).values(full_name=ADULT_NAME,
                                                                       age_band="16_17"))
        await s.commit()
    h.app.users.forget(tg_id)
    return await stored(h, tg_id)


def document_text(call: ApiCall) -> str:
    """Every cell, paragraph or page of a sent file, as text."""
    data, name = call.files["document"], call.file_names.get("document", "")
    if name.endswith(".xlsx"):
        book = load_workbook(io.BytesIO(data))
        return "\n".join(str(cell) for sheet in book.worksheets
                         for row in sheet.iter_rows(values_only=True) for cell in row
                         if cell is not None)
    if name.endswith(".docx"):
        import docx

        doc = docx.Document(io.BytesIO(data))
        cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
        return "\n".join([p.text for p in doc.paragraphs] + cells)
    if name.endswith(".pdf"):
        from pypdf import PdfReader

        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    raise AssertionError(f"unexpected file {name}")


async def sent_file(h, u, command: str) -> str:
    calls = await u.send(command)
    docs = [c for c in calls if c.method == "sendDocument"]
    assert docs, f"{command} sent no file: {[c.text for c in calls]}"
    return "\n".join(document_text(c) for c in docs)


@dataclass
class World:
    minor: User
    adult: User
    open_challenge: int  # both "joined" (the minor before the limit existed), no entries
    fresh: int  # an open challenge nobody joined yet
    action: int  # an open action: joining it is the participation
    closed_action: int  # the adult joined; the minor's join predates the limit
    entries: int  # closed: an approved entry each (the minor's predates the limit)
    webinar: int  # both registered and attended


async def world(h, clock) -> World:
    from bot.callbacks import WebinarCD
    from tests.test_certificates import entry
    from tests.test_challenges import new_challenge
    from tests.test_webinars import new_webinar

    await make_staff(h)
    await make_coordinator(h, COORDINATOR, level="district", district_index=0)
    minor, adult = await make_minor(h), await make_adult(h)
    w = World(minor, adult, await new_challenge(h, "challenge"),
              await new_challenge(h, "challenge"), await new_challenge(h, "action", content=()),
              await new_challenge(h, "action", content=()), await new_challenge(h, "challenge"),
              await new_webinar(h, starts_at=h.app.now() + timedelta(minutes=10)))
    async with h.app.sessionmaker() as s:  # rows from before the limit existed (review M4)
        s.add_all([ChallengeParticipant(challenge_id=w.open_challenge, user_id=minor.id),
                   ChallengeParticipant(challenge_id=w.open_challenge, user_id=adult.id),
                   ChallengeParticipant(challenge_id=w.closed_action, user_id=minor.id),
                   ChallengeParticipant(challenge_id=w.closed_action, user_id=adult.id)])
        s.add_all([Certificate(issue_key=f"old:{u.id}", template="participant",
                               source_type="challenge", source_id=w.entries, user_id=u.id,
                               full_name=n, org_name=o, locale="en", details={},
                               issued_at=h.app.now(), queued_at=h.app.now(),
                               number=f"P26-{u.id:06d}-OLD1")
                   for u, n, o in ((minor, MINOR_NAME, MINOR_ORG),
                                   (adult, ADULT_NAME, ADULT_ORG))])
        await s.commit()
    await entry(h, w.entries, adult)
    await entry(h, w.entries, minor)
    async with h.app.sessionmaker() as s:
        await s.execute(update(Submission).where(Submission.user_id == minor.id)
                        .values(text=MINOR_TEXT))
        await s.execute(update(Challenge).where(Challenge.id.in_((w.entries, w.closed_action)))
                        .values(status="closed"))
        await s.commit()
    for tg_id in (MINOR, ADULT):  # webinars stay open to a minor (README)
        u = h.user(tg_id)
        await u.press(WebinarCD(action="reg", id=w.webinar).pack())
        await u.press(WebinarCD(action="here", id=w.webinar).pack())
    async with h.app.sessionmaker() as s:
        attended = (await s.scalars(select(WebinarRegistration.user_id).where(
            WebinarRegistration.attended_at.is_not(None)))).all()
    assert sorted(attended) == sorted([minor.id, adult.id])
    clock.advance(hours=3)  # the webinar is over
    return w


async def no_entries(h, w: World) -> None:
    u = h.user(MINOR)
    await u.press(ChallengeCD(action="submit", id=w.open_challenge).pack())
    assert REFUSAL_RU in u.last_text() and f"?start=g_{w.minor.guardian_token}" in u.last_text()
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(Submission.id).where(
            Submission.user_id == w.minor.id, Submission.challenge_id == w.open_challenge)) \
            is None


async def no_joining(h, w: World) -> None:
    u, adult = h.user(MINOR), h.user(ADULT)
    for cid in (w.fresh, w.action):
        await u.press(ChallengeCD(action="join", id=cid).pack())
        assert REFUSAL_RU in u.last_text()
        assert f"?start=g_{w.minor.guardian_token}" in u.last_text()
        async with h.app.sessionmaker() as s:
            assert await s.scalar(select(ChallengeParticipant.id).where(
                ChallengeParticipant.user_id == w.minor.id,
                ChallengeParticipant.challenge_id == cid)) is None
        await adult.press(ChallengeCD(action="join", id=cid).pack())
        assert "You have joined" in adult.last_text()


async def no_certificates(h, w: World) -> None:
    async with h.app.sessionmaker() as s:  # a bulk issue asks for signatories first
        for template in certificates.TEMPLATES:
            await certificates.set_signatories(s, template, "Director | A. Seitov", None)
        await s.commit()
    staff = h.user(STAFF)
    for source in (f"webinar {w.webinar}", f"challenge {w.closed_action}"):
        await staff.send(f"/certificates {source}")
        preview = h.api.last(STAFF)
        assert "New certificates to issue: 1" in preview.text, preview.text
        assert ("Waiting for a guardian's confirmation (skipped; run this again after they "
                "confirm): 1") in preview.text
        assert MINOR_NAME not in document_text(preview)
        await staff.click("Issue 1")
    await h.drain()
    assert h.api.of("sendDocument", MINOR) == []
    assert len(h.api.of("sendDocument", ADULT)) == 2


async def staff_exports(h, w: World) -> None:
    from bot.callbacks import ChallengeAdminCD

    staff = h.user(STAFF)
    listed = {
        "/export_webinar": await sent_file(h, staff, f"/export_webinar {w.webinar}"),
        "/export_challenge": await sent_file(h, staff, f"/export_challenge {w.entries}"),
        "/certificates export": await sent_file(h, staff, "/certificates export"),
    }
    await staff.press(ChallengeAdminCD(action="win", id=w.entries).pack())
    listed["winners' list"] = html.unescape(staff.last_text())
    await staff.send("/cancel")
    for name, text in listed.items():
        assert ADULT_NAME in text and ADULT_ORG in text, name
        assert WAITING in text, name
        for secret in (MINOR_NAME, MINOR_ORG, MINOR_TEXT):
            assert secret not in text, (name, secret)
    counts = {"/export_stats": await sent_file(h, staff, "/export_stats year"),
              "/report": await sent_file(h, staff, "/report 2026")}
    for name, text in counts.items():  # numbers only: nobody is named
        assert MINOR_NAME not in text and ADULT_NAME not in text, name


async def coordinator_lists(h, w: World) -> None:
    from bot.callbacks import WebinarAdminCD
    from bot.notices.broadcasts import broadcasts_tick

    coordinator = h.user(COORDINATOR)
    await coordinator.press(ChallengeCD(action="gap", id=w.open_challenge).pack())
    gap = coordinator.last_text()
    assert "Joined but have not sent an entry: 1" in gap and ADULT_NAME in gap
    assert MINOR_NAME not in gap and MINOR_ORG not in gap
    before = {tg_id: len(h.api.texts(tg_id)) for tg_id in (MINOR, ADULT)}
    await coordinator.click("Remind")
    assert await h.drain() == 1
    assert "My class" in h.api.texts(ADULT)[-1] and len(h.api.texts(ADULT)) == before[ADULT] + 1
    assert len(h.api.texts(MINOR)) == before[MINOR]  # they cannot send one: not nudged

    await coordinator.send("/broadcast")
    await coordinator.send("Meeting on Friday")
    await coordinator.click("Students")
    await coordinator.click("✅ Received")
    await coordinator.click("Send now")
    await h.drain()
    assert "Meeting on Friday" in h.api.texts(MINOR)[-1]  # news still reach them
    await broadcasts_tick(h.app)
    await coordinator.click("📊 Confirmations")
    acks = html.unescape(coordinator.last_text())
    assert "0 of 2" in acks and ADULT_NAME in acks and WAITING in acks
    assert MINOR_NAME not in acks and MINOR_ORG not in acks

    staff = h.user(STAFF)
    await staff.press(WebinarAdminCD(action="regs", id=w.webinar).pack())
    regs = html.unescape(staff.last_text())
    assert "Registered: 2, attended: 2" in regs and ADULT_NAME in regs and WAITING in regs
    assert MINOR_NAME not in regs

    for who in (STAFF, COORDINATOR, ADULT):  # places are ranked, never people
        await h.user(who).send("/leaderboard")
        board = h.user(who).last_text()
        assert MINOR_NAME not in board and ADULT_NAME not in board


# Each line of the comment at `User.limited` (db/models/core.py) → the check that holds it.
CHECKS = {
    "sends no entries": no_entries,
    "joins no challenges or actions": no_joining,
    "gets no certificates": no_certificates,
    "is in staff exports only as": staff_exports,
    "is named in no coordinator's list": coordinator_lists,
}


def model_promises() -> list[str]:
    source = (Path(__file__).parents[1] / "db" / "models" / "core.py").read_text()
    block = source[source.index("# Minors:"):source.index("age_band: Mapped")]
    return re.findall(r"#\s+- (.+)", block)


async def test_m4_i6_limited_minor_takes_part_only_as_the_model_says(h, clock):
    promises = model_promises()
    keys = [next((k for k in CHECKS if p.startswith(k)), p) for p in promises]
    assert keys == list(CHECKS), "the model's comment and these checks must list the same rules"
    w = await world(h, clock)
    for key in keys:
        await CHECKS[key](h, w)


async def test_m4_certificates_follow_the_guardians_confirmation(h, clock):
    """Skipped while waiting, issued by the next run after the guardian confirms; one issued
    before the limit existed and not sent yet waits in the registry until then too."""
    from tests.test_certificates import attend, webinar

    await make_staff(h)
    minor = await make_minor(h, locale="en")
    wid = await webinar(h)
    await attend(h, wid, minor)
    async with h.app.sessionmaker() as s:
        s.add(Certificate(issue_key="old", template="participant", source_type="challenge",
                          source_id=1, user_id=minor.id, full_name=MINOR_NAME, locale="en",
                          details={"title": {"en": "Old"}, "kind": "challenge"},
                          issued_at=h.app.now(), number="P26-000001-OLD1"))
        await s.commit()
    async with h.app.sessionmaker() as s:  # a bulk issue asks for signatories first
        await certificates.set_signatories(s, "webinar", "Director | A. Seitov", None)
        await s.commit()
    staff = h.user(STAFF)
    await staff.send(f"/certificates webinar {wid}")
    assert "Waiting for a guardian's confirmation" in staff.last_text()
    assert "Nothing new to issue" in staff.last_text()
    await certificates_tick(h.app)
    await h.drain()
    assert h.api.of("sendDocument", MINOR) == []

    parent = h.user(779, "Parent", language_code="en")
    await parent.send(f"/start g_{minor.guardian_token}")
    await parent.click("I confirm")
    await staff.send(f"/certificates webinar {wid}")
    await staff.click("Issue 1")
    await certificates_tick(h.app)
    await h.drain()
    names = sorted(c.file_names["document"] for c in h.api.of("sendDocument", MINOR))
    assert len(names) == 2 and names[0] == "P26-000001-OLD1.pdf"
