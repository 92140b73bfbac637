"""/link and /unlink: one person on Telegram and WhatsApp (bot/services/links.py has the
rules). /link in a registered chat hands out a one-time code; `/link CODE` (or the code
after a bare /link) in the other messenger's chat joins the two; "Send news here" picks the
chat that gets news and notices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import LinkCD
from bot.i18n import PoI18n
from bot.routing import Routes
from bot.services import links
from bot.services.errors import DomainError
from bot.services.users import UserCache, UserInfo
from db.models import User
from db.models.whatsapp import channel_of

routes = Routes(__name__)
NAMES = {"telegram": "Telegram", "whatsapp": "WhatsApp"}


class LinkSG(StatesGroup):
    code = State()  # a guest said /link: the next message is the code


def _here_kb() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📩 Send news here"), callback_data=LinkCD(action="here"))
    return kb.as_markup()


def _status(found: links.Links, chat_id: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """Where news goes, and the button to bring it to this chat if it goes elsewhere."""
    text = _("News and notices come to {channel}.").format(channel=NAMES[found.delivery])
    here = found.delivery != channel_of(chat_id)
    return text, (_here_kb() if here else None)


async def _me(session: AsyncSession, user: UserInfo | None) -> User:
    me = None if user is None else await session.get(User, user.id)
    if me is None or me.status == "erased":
        raise DomainError("link_none")
    return me


@routes.message(Command("link"))
async def cmd_link(message: Message, command: CommandObject, state: FSMContext,
                   session: AsyncSession, users: UserCache, i18n: PoI18n,
                   clock: Callable[[], datetime], user: UserInfo | None) -> None:
    if command.args:
        await _redeem(message, command.args, state, session, users, i18n, clock)
        return
    if user is None:  # the second messenger's chat: the code comes next
        await state.set_state(LinkSG.code)
        await message.answer(_("Send the 6-digit code you got with /link in your other "
                               "messenger (Telegram or WhatsApp)."))
        return
    me = await _me(session, user)
    found = await links.links_of(session, me)
    status, kb = _status(found, message.chat.id)
    if found.telegram and found.whatsapp:
        await message.answer(_("Your Telegram and WhatsApp are one account.") + " " + status
                             + "\n" + _("/unlink separates them."), reply_markup=kb)
        return
    code = await links.issue_code(session, me, clock())
    other = "Telegram" if message.chat.id < 0 else "WhatsApp"
    minutes = int(links.CODE_TTL.total_seconds() // 60)
    await message.answer(_(
        "Your code: <b>{code}</b>\n\nWithin {minutes} minutes, send <code>/link {code}</code> "
        "to this bot in {other}. The code works once. Then both chats are one account: your "
        "entries, registrations and certificates are counted once.").format(
            code=code, minutes=minutes, other=other))


@routes.message(LinkSG.code, F.text, ~F.text.startswith("/"))
async def on_code(message: Message, state: FSMContext, session: AsyncSession,
                  users: UserCache, i18n: PoI18n, clock: Callable[[], datetime]) -> None:
    await _redeem(message, message.text or "", state, session, users, i18n, clock)


async def _redeem(message: Message, typed: str, state: FSMContext, session: AsyncSession,
                  users: UserCache, i18n: PoI18n, clock: Callable[[], datetime]) -> None:
    owner = await links.redeem(session, users, typed, message.chat.id, message.from_user.id,
                               clock())
    await state.clear()
    if message.chat.id > 0:  # typed on Telegram: the WhatsApp chat now talks as another id
        await _move_whatsapp_state(message, state, session, owner)
    found = await links.links_of(session, owner)
    with i18n.use_locale(owner.locale):  # the person's language, not this chat's guess
        status, kb = _status(found, message.chat.id)
        await message.answer(_("Done: your Telegram and WhatsApp are one account now.") + " "
                             + status, reply_markup=kb)


async def _move_whatsapp_state(message: Message, state: FSMContext, session: AsyncSession,
                               owner: User) -> None:
    """A WhatsApp-first person's WhatsApp chat was keyed by the contact's id as the person
    (users.tg_id before the link); its messages now come from the Telegram id: an unfinished
    flow there (an entry, a profile edit) goes on under the new key instead of being lost."""
    contact = await links.contact_of(session, owner)
    if contact is None:
        return
    chat = -contact.id
    old = FSMContext(state.storage, StorageKey(bot_id=message.bot.id, chat_id=chat,
                                               user_id=chat))
    new = FSMContext(state.storage, StorageKey(bot_id=message.bot.id, chat_id=chat,
                                               user_id=owner.tg_id))
    await new.set_state(await old.get_state())
    await new.set_data(await old.get_data())
    await old.clear()


@routes.message(Command("unlink"))
async def cmd_unlink(message: Message, session: AsyncSession, users: UserCache,
                     user: UserInfo | None) -> None:
    me = await _me(session, user)
    await links.unlink(session, users, me)
    await message.answer(_(
        "Telegram and WhatsApp are separate again. Your registration stays with Telegram; "
        "in WhatsApp this bot sees a new guest (/start registers, /link links again)."))


@routes.callback_query(LinkCD.filter(F.action == "here"))
async def on_here(cb: CallbackQuery, session: AsyncSession, users: UserCache,
                  user: UserInfo | None) -> None:
    me = await _me(session, user)
    channel = await links.deliver_here(session, users, me, cb.message.chat.id)
    await cb.answer()
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(_("News and notices come here now, to {channel}.").format(
        channel=NAMES[channel]))
