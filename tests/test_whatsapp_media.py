"""The media store (issue 16): what a WhatsApp person sends is downloaded when it arrives,
because WhatsApp media ids expire; entries, /review and exports name the stored copy, a
Telegram reviewer gets its bytes uploaded, and /deleteme erases it."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from bot.datadir import private_folder
from bot.services.personal_data import export_user_data
from db.models import StoredMedia, Submission, User
from tests import fake_whatsapp as fw
from tests.factories import make_coordinator
from tests.test_challenges import new_challenge
from tests.test_whatsapp import BSUID, register_in_kazakh, stored
from tests.wa_harness import WaHarness

PNG = b"\x89PNG\r\n\x1a\n our class at the parliament session"



async def submit_photo_entry(wh: WaHarness) -> tuple[str, int]:
    """A WhatsApp student registers in Kazakh and sends a photo entry; (media id, contact)."""
    cid = await new_challenge(wh.h, "contest", content=("photo",))
    u = wh.user(BSUID, "Айгерім")
    await register_in_kazakh(u)
    await u.choose("Келісемін")
    await u.post(fw.button_reply(f"ch:submit:{cid}:", "Жіберу"))
    media_id = wh.api.add_media(PNG, "image/png")
    await u.post(fw.media("image", media_id, "image/png", caption="Біздің сынып"))
    await u.choose("Түсініктемесіз")  # "✅ Түсініктемесіз…": cut to 20
    assert "№ 1 жұмысыңыз алынды" in " ".join(u.texts()[-2:])
    contact, _ = await stored(wh, BSUID)
    return media_id, contact.ext_id


async def test_a_telegram_reviewer_gets_the_photo_after_the_whatsapp_media_id_expired(wh):
    media_id, ext_id = await submit_photo_entry(wh)
    wh.api.expire(media_id)  # from now on WhatsApp no longer serves it
    sha = hashlib.sha256(PNG).hexdigest()
    async with wh.h.app.sessionmaker() as s:
        entry = (await s.scalars(select(Submission))).one()
        kept = (await s.scalars(select(StoredMedia))).one()
    assert entry.media[0]["file_id"] == f"store:{sha}"
    assert (kept.owner_id, kept.mime, kept.size) == (ext_id, "image/png", len(PNG))
    assert (private_folder("media") / sha).read_bytes() == PNG

    await make_coordinator(wh.h, 201, level="regional")
    start = len(wh.h.api.calls)
    await wh.h.user(201).send("/review")
    photos = [c for c in wh.h.api.calls[start:] if c.method == "sendPhoto"]
    assert [(c.chat_id, c.files.get("photo"), c.params.get("caption")) for c in photos] == [
        (201, PNG, "Біздің сынып")]


async def test_a_whatsapp_reviewer_gets_it_uploaded_anew(wh):
    """(Here the student herself is the WhatsApp person it goes to.)"""
    media_id, ext_id = await submit_photo_entry(wh)
    wh.api.expire(media_id)
    async with wh.h.app.sessionmaker() as s:
        entry = (await s.scalars(select(Submission))).one()
    await wh.wa.bot.send_photo(ext_id, entry.media[0]["file_id"])
    shown = wh.api.to(BSUID)[-1]
    assert shown.type == "image" and shown.media_id != media_id
    assert wh.api.media[shown.media_id] == (PNG, "image/png")


async def test_a_telegram_file_shown_to_a_whatsapp_person_is_fetched_and_uploaded(wh):
    """(A Telegram student's entry, by its Telegram file id, to a WhatsApp reviewer.)"""
    u = wh.user(BSUID)
    await u.send("/start")
    ext_id = (await stored(wh, BSUID))[0].ext_id
    wh.h.api.files["AgTelegramPhoto"] = PNG  # what Telegram serves for that file id
    await wh.wa.bot.send_photo(ext_id, "AgTelegramPhoto", caption="No. 7")
    shown = wh.api.to(BSUID)[-1]
    assert (shown.type, shown.caption) == ("image", "No. 7")
    assert wh.api.media[shown.media_id][0] == PNG


async def test_mydata_lists_the_stored_files(wh):
    _, ext_id = await submit_photo_entry(wh)
    async with wh.h.app.sessionmaker() as s:
        user = await s.scalar(select(User).where(User.tg_id == ext_id))
        files = (await export_user_data(s, user))["files_sent"]
    assert [(f["mime"], f["size"]) for f in files] == [("image/png", len(PNG))]


async def test_a_download_that_fails_for_now_is_delivered_again_later(wh):
    u = wh.user(BSUID)
    await u.send("/start")
    media_id = wh.api.add_media(PNG, "image/png")
    wh.api.fail_next_download(131000, status=500)  # WhatsApp's media server, briefly unwell
    body = fw.webhook(BSUID, fw.media("image", media_id, "image/png"), wamid="wamid.M1")
    raw = json.dumps(body).encode()
    assert await wh.post(raw, fw.signature(raw)) == 503  # Meta delivers it again later
    assert await wh.post(raw, fw.signature(raw)) == 200
    async with wh.h.app.sessionmaker() as s:
        assert len((await s.scalars(select(StoredMedia))).all()) == 1


async def test_deleteme_erases_the_stored_files(wh):
    await submit_photo_entry(wh)
    sha = hashlib.sha256(PNG).hexdigest()
    assert (private_folder("media") / sha).exists()
    u = wh.user(BSUID)
    await u.send("/deleteme")
    await u.choose(u.last().titles[0] if u.last().type == "buttons" else "1")
    async with wh.h.app.sessionmaker() as s:
        assert (await s.scalars(select(StoredMedia))).all() == []
    assert not (private_folder("media") / sha).exists()

