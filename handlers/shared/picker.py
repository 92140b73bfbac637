"""The people picker's conversation: how staff name a person for a role (/promote, a juror).

The answer may be a part of the person's name (searched within the actor's scope: several
matches come back as buttons, PickCD), their @username or a t.me link, a user chosen with
Telegram's own picker (the reply keyboard's button: users_shared) or a shared contact, or a
Telegram id. The rules of who may serve stay with each feature's service.
"""

from __future__ import annotations

from aiogram import F
from aiogram.types import (
    KeyboardButton,
    KeyboardButtonRequestUsers,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import PickCD
from bot.services import people
from bot.services.places import PlaceDirectory
from db.models import User

# What a picker step accepts: typed text (not a command), a shared user or a contact.
ANSWER = (F.text & ~F.text.startswith("/")) | F.users_shared | F.contact
REQUEST_IDS = {"promote": 1, "jury": 2}  # Telegram echoes it in users_shared
NO_KEYBOARD = ReplyKeyboardRemove()


def picker_keyboard(purpose: str) -> ReplyKeyboardMarkup:
    """One button that opens Telegram's own list of people (chats and contacts)."""
    return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(
        text=_("👤 Choose in Telegram"),
        request_users=KeyboardButtonRequestUsers(
            request_id=REQUEST_IDS.get(purpose, 0), user_is_bot=False, max_quantity=1,
            request_name=True))]],
        resize_keyboard=True, one_time_keyboard=True,
        input_field_placeholder=_("Name, @username or Telegram id"))


def how_to_name(message: Message) -> str:
    """The prompt's hint; Telegram's own picker button exists only in Telegram chats."""
    if message.chat.id < 0:  # WhatsApp (bot.channels.whatsapp): no such button there
        return _("Type a part of their name or their @username (a Telegram id works too).")
    return _("Type a part of their name or their @username, or choose them with the "
             "“👤 Choose in Telegram” button below (a Telegram id works too).")


def who_line(places: PlaceDirectory, user: User, locale: str) -> str:
    """One button's worth: name · organisation · place (plain text, cut to fit)."""
    parts = [user.full_name or "—", user.org_name or "",
             ", ".join(places.names(user.region_id, user.district_id, locale))]
    return " · ".join(p for p in parts if p)[:60]


async def found_by(message: Message, session: AsyncSession, scope: people.Scope,
                   text: str | None = None) -> people.Found:
    if message.users_shared is not None:
        shared = message.users_shared.users or []
        tg_id = shared[0].user_id if shared else None
        return await people.shared(session, tg_id, scope)
    if message.contact is not None:
        return await people.shared(session, message.contact.user_id, scope)
    return await people.find(session, text if text is not None else message.text or "", scope)


async def named(message: Message, session: AsyncSession, places: PlaceDirectory,
                locale: str, scope: people.Scope, purpose: str, arg: int = 0,
                text: str | None = None) -> int | None:
    """The Telegram id of the one person `message` (or `text`: a command's arguments) names;
    None when several match (they are offered as buttons). Nobody: the DomainError saying
    why (the flow stays)."""
    found = await found_by(message, session, scope, text)
    if found.why is not None:
        raise found.why
    if len(found.people) == 1:
        return found.people[0].tg_id
    kb = InlineKeyboardBuilder()
    for person in found.people:
        kb.button(text=who_line(places, person, locale),
                  callback_data=PickCD(purpose=purpose, tg_id=person.tg_id, arg=arg))
    kb.adjust(1)
    await message.answer(_("Several people match. Whom do you mean?"),
                         reply_markup=kb.as_markup())
    return None

