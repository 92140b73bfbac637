"""Refusals of the challenge conversations that say more than the refusal: the step asked
again, the toggles kept, the next entry shown (issue 15: answered by the shared error handler
where it can, by the handler where the flow goes on)."""

from __future__ import annotations

import pytest

from db.models.challenges import Challenge, Submission
from tests.factories import make_coordinator, make_student
from tests.harness import BotHarness
from tests.test_challenges import PHOTO, count, new_challenge, staff_user


@pytest.fixture
def h(quick_h: BotHarness) -> BotHarness:
    return quick_h


def last_popup(h) -> str:
    return h.api.of("answerCallbackQuery", None)[-1].params.get("text") or ""


async def test_a_deadline_that_passes_at_the_preview_asks_for_the_deadline_again(h, clock):
    await staff_user(h)
    s = h.user(900)
    await s.send("/newchallenge")
    await s.click("Action")
    for text in ("Акция", "Акция", "Action", "Сипат", "Описание", "Description"):
        await s.send(text)
    await s.click("Next")
    await s.click("Next")
    await s.click("Now")
    await s.send("06.03.2026")
    await s.click("Next")
    await s.click("Skip")
    clock.advance(days=30)  # the deadline passes while the preview is open
    await s.click("Publish")
    assert "must be in the future" in s.texts()[-2]
    assert "The deadline, in Almaty time" in s.last_text()
    assert await count(h, Challenge) == 0
    await s.send("30.12.2026 18:00")  # the flow goes on from that step
    assert "Which content" in s.last_text()


async def test_saving_no_content_keeps_the_toggles_and_a_stale_step_says_so(h):
    cid = await new_challenge(h)
    s = h.user(900)
    await s.press(f"cha:eck:{cid}:")
    await s.click("photo")
    await s.click("text")
    await s.click("Save")
    assert "at least one kind" in last_popup(h)
    await s.click("video")  # still on the toggles
    await s.click("Save")
    assert "Saved." in s.texts()
    async with h.app.sessionmaker() as db:
        assert (await db.get(Challenge, cid)).content_kinds == ["video"]
    await s.press(f"cha:ect_done:{cid}:")  # the flow is over: its button is stale
    assert "no longer active" in last_popup(h)


async def test_a_stale_submit_step_and_a_refused_entry_end_the_flow(h):
    cid = await new_challenge(h, "contest", content=("photo",), nominations=[
        {"kk": "Эссе", "ru": "Эссе", "en": "Essay"}])
    await make_student(h, 101, locale="en")
    u = h.user(101)
    await u.press(f"ch:submit:{cid}:")
    await u.press(f"ch:nom:{cid + 1}:1")  # another challenge's button
    assert "no longer active" in last_popup(h)
    await u.click("Essay")
    await u.send("not a photo")
    assert "not accepted here. Send: photo" in u.last_text()
    await u.send_content(photo=PHOTO)
    await u.click("Send without a comment")
    assert "is received" in u.last_text()
    await u.press(f"ch:ok:{cid}:")  # the flow is over
    assert "no longer active" in last_popup(h)
    assert await count(h, Submission) == 1


async def test_a_decision_taken_meanwhile_shows_the_next_entry(h):
    cid = await new_challenge(h)
    for uid in (101, 102):
        await make_student(h, uid)
        u = h.user(uid)
        await u.press(f"ch:submit:{cid}:")
        await u.send_content(photo=PHOTO)
        await u.click("Send without a comment")
    await make_coordinator(h, 201)
    r1, r2 = h.user(201), h.user(900)
    await r1.send("/review")
    await r2.send("/review")
    await r1.click("Approve")
    await r2.click("Approve")  # the same entry: decided meanwhile
    texts = r2.texts()
    assert any("already" in t for t in texts[-3:])
    assert "Entry No. 2" in "\n".join(texts[-2:])  # and the next one follows
