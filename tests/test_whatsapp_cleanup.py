"""Retention of WhatsApp strangers (issue 16): a contact who wrote but never registered (no
`users` row) is forgotten WHATSAPP_CONTACT_RETENTION_DAYS after their last message, with the
files they sent (from the media store and the disk) and their unfinished conversation, by a
scheduled tick; registered people and recent writers stay. (/deleteme erasing a registered
person's files: tests/test_whatsapp_media.py.)"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bot.datadir import private_folder
from bot.scheduler import run_all_ticks, ticks, whatsapp_strangers_tick
from db.models import FsmRecord, StoredMedia, WaContact
from tests import fake_whatsapp as fw
from tests.conftest import STAFF_ID
from tests.harness import make_harness
from tests.test_whatsapp import register_in_kazakh, stored
from tests.wa_harness import WA_SETTINGS, FakeWaUser, WaHarness, attach_whatsapp

PNG = b"\x89PNG\r\n\x1a\n a stranger's picture"
SHARED = b"\x89PNG\r\n\x1a\n a picture two people sent"


async def make(db_url, clock, **settings) -> WaHarness:
    h = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}), flood_limit=1000,
                           **WA_SETTINGS, **settings)
    return await attach_whatsapp(h)


@pytest.fixture
async def wh(db_url, clock) -> AsyncIterator[WaHarness]:
    wa = await make(db_url, clock)
    yield wa
    await wa.close()
    await wa.h.close()


async def send_photo(wh: WaHarness, u: FakeWaUser, data: bytes) -> None:
    media_id = wh.api.add_media(data, "image/png")
    await u.post(fw.media("image", media_id, "image/png"))


async def silent_for(wh: WaHarness, address: str, days: float) -> None:
    async with wh.h.app.sessionmaker() as s:
        await s.execute(update(WaContact).where(WaContact.address == address).values(
            last_inbound_at=wh.h.app.now() - timedelta(days=days)))
        await s.commit()


async def media_owners(wh: WaHarness) -> list[int]:
    async with wh.h.app.sessionmaker() as s:
        return sorted((await s.scalars(select(StoredMedia.owner_id))).all())


async def fsm_rows(wh: WaHarness, ext_id: int) -> int:
    async with wh.h.app.sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(FsmRecord).where(
            FsmRecord.key.like(f"%:{ext_id}:%")))


def on_disk(data: bytes) -> bool:
    return (private_folder("media") / hashlib.sha256(data).hexdigest()).exists()


async def test_a_silent_stranger_is_forgotten_with_their_files_and_conversation(wh):
    stranger = wh.user("KZ.stranger")
    await stranger.send("/start")  # chose nothing: no users row, a conversation begun
    await send_photo(wh, stranger, PNG)
    await send_photo(wh, stranger, SHARED)
    member = wh.user("KZ.member", "Айгерім")
    await register_in_kazakh(member)
    await member.choose("Келісемін")
    await send_photo(wh, member, SHARED)  # the same bytes: the file stays for them
    recent = wh.user("KZ.recent")
    await recent.send("/start")
    contact, _ = await stored(wh, "KZ.stranger")
    assert contact is not None and on_disk(PNG)
    for address, days in (("KZ.stranger", 31), ("KZ.member", 200), ("KZ.recent", 29)):
        await silent_for(wh, address, days)

    assert await fsm_rows(wh, contact.ext_id) == 1  # asked their language

    await whatsapp_strangers_tick(wh.h.app)

    assert (await stored(wh, "KZ.stranger"))[0] is None
    assert (await stored(wh, "KZ.member"))[1] is not None  # registered: kept however silent
    assert (await stored(wh, "KZ.recent"))[0] is not None  # 29 days: kept
    member_id = (await stored(wh, "KZ.member"))[0].ext_id
    assert await media_owners(wh) == [member_id]
    assert not on_disk(PNG) and on_disk(SHARED)
    assert await fsm_rows(wh, contact.ext_id) == 0
    # writing again starts afresh, as a new contact
    replies = await stranger.send("/start")
    assert replies and replies[-1].type == "buttons"
    again, _ = await stored(wh, "KZ.stranger")
    assert again is not None and again.id != contact.id


async def test_the_retention_is_a_setting_and_the_tick_is_scheduled(db_url, clock):
    wh = await make(db_url, clock, whatsapp_contact_retention_days=7)
    try:
        assert "whatsapp_strangers" in {job for job, _, _ in ticks()}
        for address in ("KZ.a", "KZ.b"):
            await wh.user(address).send("/start")
        await silent_for(wh, "KZ.a", 8)
        await silent_for(wh, "KZ.b", 6)
        await run_all_ticks(wh.h.app)
        assert (await stored(wh, "KZ.a"))[0] is None
        assert (await stored(wh, "KZ.b"))[0] is not None
    finally:
        await wh.close()
        await wh.h.close()


async def test_strangers_are_forgotten_in_batches(wh, monkeypatch):
    from bot.services import identity

    monkeypatch.setattr(identity, "STRANGERS_BATCH", 2)
    for n in range(5):
        await wh.user(f"KZ.{n}").send("/start")
        await silent_for(wh, f"KZ.{n}", 40)
    await whatsapp_strangers_tick(wh.h.app)
    async with wh.h.app.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(WaContact)) == 0


async def test_a_linked_whatsapp_contact_is_no_stranger_however_silent(wh):
    """/link: a contact that belongs to a Telegram person (wa_contacts.user_id) has no users
    row of its own; the retention tick must keep it, with the files they sent from it, and
    their news must keep reaching WhatsApp when they chose it (review, 2026-12)."""
    from tests.test_link import linked_from_telegram

    student, _u, w = await linked_from_telegram(wh, 101, "kk")
    await send_photo(wh, w, PNG)
    await w.choose("📩")  # "Send news here": WhatsApp, and they never write again
    contact, _ = await stored(wh, w.address)
    await silent_for(wh, w.address, 400)

    await whatsapp_strangers_tick(wh.h.app)

    kept, _ = await stored(wh, w.address)
    assert kept is not None and kept.id == contact.id and kept.user_id == student.id
    assert await media_owners(wh) == [contact.ext_id] and on_disk(PNG)


async def test_after_unlink_the_files_sent_from_whatsapp_stay_with_the_registration(wh):
    """A person registered on WhatsApp links Telegram and later unlinks: the registration
    (and their entries) stay with Telegram, the WhatsApp chat becomes a guest's. The files
    they sent from WhatsApp are the registration's: the stranger tick must not erase them
    with the abandoned chat."""
    from tests.test_link import BSUID, whatsapp_code
    from tests.test_whatsapp_delivery import wa_student

    student = await wa_student(wh, BSUID, "kk", hours_silent=1)
    w = wh.user(BSUID)
    await send_photo(wh, w, PNG)
    code = await whatsapp_code(w)
    u = wh.h.user(555, language_code="kk")
    await u.send(f"/link {code}")
    await u.send("/unlink")
    await silent_for(wh, BSUID, 400)

    await whatsapp_strangers_tick(wh.h.app)

    assert (await stored(wh, BSUID))[0] is None  # the abandoned chat is forgotten
    assert await media_owners(wh) == [555] and on_disk(PNG)  # its files are not
    async with wh.h.app.sessionmaker() as s:
        from db.models import User
        assert (await s.get(User, student.id)).tg_id == 555
