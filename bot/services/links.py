"""One person on Telegram and WhatsApp: /link with a one-time code (issue 16).

A person is one `users` row. Its `tg_id` is their Telegram id when they have one, else
-wa_contacts.id (a WhatsApp-only person, db.models.whatsapp); their WhatsApp contact belongs
to them either by that negative id or by `wa_contacts.user_id` (linked). Linking:

- asked on Telegram, typed on WhatsApp: the contact gets `user_id`;
- asked on WhatsApp, typed on Telegram: the row's `tg_id` becomes the Telegram id (Telegram
  updates cannot be presented as anyone else) and the contact gets `user_id`.

Either way nothing else moves: entries, registrations, acknowledgements and certificates
stay on the one row, so counts and exports see one person. If the second chat already has a
registration of its own, the link is refused (not merged): the code proves that one person
holds both phones, not that both registrations are theirs — a family phone shared by two
pupils is common — and a merge cannot be undone. The refusal says how to proceed.

Bulk and personal notices go to `users.chat_id`: the chat they registered in until they
press "Send news here" in the other one (`deliver_here`).

Codes: 6 digits from `secrets`, stored as a keyed hash, valid CODE_TTL, used once; a chat
may type ATTEMPTS wrong codes per ATTEMPT_WINDOW (by a keyed hash of the chat, as
coordinator requests are counted).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.services.activity import log_activity
from bot.services.coordinator_requests import person_key
from bot.services.errors import DomainError
from bot.services.users import UserCache
from db.models import LinkAttempt, LinkCode, StoredMedia, User, WaContact
from db.models.whatsapp import WHATSAPP, channel_of

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=15)
ATTEMPTS = 5
ATTEMPT_WINDOW = timedelta(hours=1)
PURGE_AFTER = timedelta(days=1)  # used and expired codes: kept a day to say "already used"
TELEGRAM = "telegram"


@dataclass(frozen=True)
class Links:
    """What /link shows: which messengers the person has, and where news goes."""

    telegram: bool
    whatsapp: bool
    delivery: str  # "telegram" | "whatsapp"


async def _code_hash(session: AsyncSession, code: str) -> str:
    key = await person_key(session, 0)  # the bot's secret, kept in bot_state
    return hmac.new(key.encode(), f"link:{code}".encode(), hashlib.sha256).hexdigest()


async def contact_of(session: AsyncSession, user: User) -> WaContact | None:
    """The person's WhatsApp contact: their own (tg_id = -id) or the linked one."""
    if user.tg_id is not None and user.tg_id < 0:
        return await session.get(WaContact, -user.tg_id)
    return await session.scalar(select(WaContact).where(WaContact.user_id == user.id))


async def links_of(session: AsyncSession, user: User) -> Links:
    contact = await contact_of(session, user)
    return Links(telegram=user.tg_id is not None and user.tg_id > 0,
                 whatsapp=contact is not None,
                 delivery=channel_of(user.chat_id))


async def issue_code(session: AsyncSession, user: User, now: datetime) -> str:
    """A new code for this person (their earlier unused ones stop working)."""
    await session.execute(delete(LinkCode).where(
        (LinkCode.user_id == user.id) | (LinkCode.expires_at < now - PURGE_AFTER)))
    for _try in range(10):  # a clash with another live code: draw again
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        try:
            async with session.begin_nested():
                session.add(LinkCode(user_id=user.id, code_hash=await _code_hash(session, code),
                                     expires_at=now + CODE_TTL, created_at=now))
            return code
        except IntegrityError:
            continue
    raise DomainError("link_busy")


def normalized(code: str) -> str | None:
    """The code as typed ("123 456", "123-456" too); None if it is not 6 ASCII digits."""
    digits = "".join(ch for ch in code if ch not in " -\u00a0")
    if len(digits) == CODE_DIGITS and digits.isascii() and digits.isdigit():
        return digits
    return None


async def _attempts_left(session: AsyncSession, key: str, now: datetime) -> int:
    await session.execute(delete(LinkAttempt).where(LinkAttempt.at < now - ATTEMPT_WINDOW))
    used = await session.scalar(select(func.count()).select_from(LinkAttempt).where(
        LinkAttempt.person_key == key, LinkAttempt.at >= now - ATTEMPT_WINDOW)) or 0
    return ATTEMPTS - used


async def _code_owner(session: AsyncSession, typed: str, chat_id: int, now: datetime) -> LinkCode:
    """The live code typed in `chat_id`, or DomainError saying what is wrong with it."""
    key = await person_key(session, chat_id)
    left = await _attempts_left(session, key, now)
    if left <= 0:
        raise DomainError("link_attempts", minutes=int(ATTEMPT_WINDOW.total_seconds() // 60))
    code = normalized(typed)
    if code is None:
        raise DomainError("link_code_format")
    row = await session.scalar(select(LinkCode).where(
        LinkCode.code_hash == await _code_hash(session, code)))
    if row is None:
        session.add(LinkAttempt(person_key=key, at=now))
        raise DomainError("link_code_wrong", n=left - 1)
    if row.used_at is not None:
        raise DomainError("link_code_used")
    if row.expires_at <= now:
        raise DomainError("link_code_expired", minutes=int(CODE_TTL.total_seconds() // 60))
    return row


async def redeem(session: AsyncSession, cache: UserCache, typed: str, chat_id: int,
                 person_id: int, now: datetime) -> User:
    """Link the chat the code was typed in (`chat_id`; `person_id`: who the update says is
    talking) to the person who asked for the code. Returns that person.

    Everything is checked before anything changes: a refusal's reply commits the update's
    work (bot.middlewares.CommitBeforeRequest), which must then be no more than the attempt."""
    row = await _code_owner(session, typed, chat_id, now)
    owner = await session.get(User, row.user_id)
    if owner is None or owner.status == "erased" or owner.tg_id is None:
        raise DomainError("link_code_wrong", n=0)
    if person_id == owner.tg_id:
        raise DomainError("link_already")
    if await session.scalar(select(User.id).where(User.tg_id == person_id)) is not None:
        raise DomainError("link_both_registered")
    contact = await _contact_to_link(session, owner, chat_id)
    async with session.begin_nested():  # the code's use and the chat's claim: both or neither
        await _use_once(session, row.id, now)
        if contact is not None:
            await _claim(session, contact, owner.id)
    if chat_id > 0:  # Telegram's updates carry this id; WhatsApp's are presented so
        cache.forget(owner.tg_id)
        owner.tg_id = chat_id
    await session.flush()
    await log_activity(session, "link", owner, extra={"channel": channel_of(chat_id)})
    cache.forget(owner.tg_id)
    cache.forget(person_id)
    return owner


async def _use_once(session: AsyncSession, code_id: int, now: datetime) -> None:
    """Used once, also when the same code is typed in two chats at the same moment."""
    used = await session.execute(update(LinkCode).where(
        LinkCode.id == code_id, LinkCode.used_at.is_(None)).values(used_at=now)
        .execution_options(synchronize_session=False))
    if not used.rowcount:
        raise DomainError("link_code_used")


async def _claim(session: AsyncSession, contact: WaContact, user_id: int) -> None:
    """The chat joins this person only if it still belongs to nobody: two codes of two
    people typed in one chat at the same moment link it once, not to the last one."""
    claimed = await session.execute(update(WaContact).where(
        WaContact.id == contact.id, WaContact.user_id.is_(None)).values(user_id=user_id)
        .execution_options(synchronize_session=False))
    if not claimed.rowcount:
        raise DomainError("link_both_registered")
    set_committed_value(contact, "user_id", user_id)


async def _contact_to_link(session: AsyncSession, owner: User, chat_id: int,
                           ) -> WaContact | None:
    """The WhatsApp contact that joins `owner`: the chat itself when the code was typed on
    WhatsApp, the owner's own when it was typed on Telegram. Refuses a second chat of a
    messenger the owner already has."""
    if chat_id < 0:
        if await contact_of(session, owner) is not None:
            raise DomainError("link_other_messenger")
        contact = await session.get(WaContact, -chat_id)
        if contact is None:
            raise DomainError("not_found")
        if contact.user_id is not None:
            raise DomainError("link_both_registered")
        return contact
    if owner.tg_id is None or owner.tg_id > 0:
        raise DomainError("link_other_messenger")
    return await session.get(WaContact, -owner.tg_id)


async def unlink(session: AsyncSession, cache: UserCache, user: User) -> str:
    """Part the two chats: the registration stays with Telegram, the WhatsApp chat starts
    afresh (as an unregistered one). Returns the messenger that keeps the registration."""
    contact = await session.scalar(select(WaContact).where(WaContact.user_id == user.id))
    if contact is None or user.tg_id is None or user.tg_id < 0:
        raise DomainError("link_none")
    contact.user_id = None
    await _keep_files(session, -contact.id, user.tg_id)
    if channel_of(user.chat_id) == WHATSAPP:
        user.chat_id, user.channel = user.tg_id, TELEGRAM
    await log_activity(session, "unlink", user)
    cache.forget(user.tg_id)
    return TELEGRAM


async def _keep_files(session: AsyncSession, chat_id: int, tg_id: int) -> None:
    """The files sent from the WhatsApp chat (kept under its id, bot.services.media_store)
    are the registration's, in its entries: they move to it, or the stranger cleanup would
    erase them with the chat that now belongs to nobody."""
    theirs = select(StoredMedia.sha256).where(StoredMedia.owner_id == tg_id)
    await session.execute(delete(StoredMedia).where(
        StoredMedia.owner_id == chat_id, StoredMedia.sha256.in_(theirs))
        .execution_options(synchronize_session=False))
    await session.execute(update(StoredMedia).where(StoredMedia.owner_id == chat_id)
                          .values(owner_id=tg_id).execution_options(synchronize_session=False))


async def deliver_here(session: AsyncSession, cache: UserCache, user: User,
                       chat_id: int) -> str:
    """News and notices for this person go to `chat_id` (one of their two chats) from now
    on. Returns its messenger."""
    contact = await contact_of(session, user)
    mine = chat_id == user.tg_id or (contact is not None and chat_id == -contact.id)
    if not mine:
        raise DomainError("link_none")
    # they just pressed a button in this chat: it reaches them, whatever the other did
    user.chat_id, user.channel, user.blocked_bot = chat_id, channel_of(chat_id), False
    cache.forget(user.tg_id)
    return user.channel


async def forget_links(session: AsyncSession, user_id: int) -> list[int]:
    """/deleteme: the WhatsApp contact linked to this person and their codes go. Returns the
    contact's id as the bot knew it (-id), for what else is kept under it."""
    ids = list((await session.scalars(select(WaContact.id).where(
        WaContact.user_id == user_id))).all())
    if ids:
        await session.execute(delete(WaContact).where(WaContact.id.in_(ids)))
    await session.execute(delete(LinkCode).where(LinkCode.user_id == user_id))
    return [-i for i in ids]
