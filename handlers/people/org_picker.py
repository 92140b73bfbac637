"""The organisation picker of registration and /profile: the district's organisations of
the person's type as buttons (paged), a typed part of a name searches them, and "Not in the
list" asks for the name of a new one. A typed name that is a spelling of a listed one
(bot.services.organisations: same key) lands on that record.

The flow's state keeps `org_query` (the search), `org_typing` (the next text is a new name)
and `org_candidate` (a search that found nothing, offered as a new name). The caller
(registration or profile) stores what `on_text` / `on_button` return: (record id or None for a
new name, the name).
"""

from __future__ import annotations

import html

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import OrgCD
from bot.services import organisations as orgs
from bot.services import registration as reg
from handlers.shared.errors import StaleButton

Chosen = tuple[int | None, str]
BUTTON_NAME = 40  # Telegram shows about this much; WhatsApp cuts rows to 24 itself


def ask_name() -> str:
    return _("Type the name of your school, college or university (2–200 characters):")


def short(name: str, limit: int = BUTTON_NAME) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def picker_kb(items: list[orgs.Organisation], page: int, pages: int,
              candidate: str = "") -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for org in items:
        kb.button(text=short(org.name), callback_data=OrgCD(action="pick", value=org.id))
    kb.adjust(1)
    nav = InlineKeyboardBuilder()
    if page > 0:
        nav.button(text="◀️", callback_data=OrgCD(action="page", value=page - 1))
    if page < pages - 1:
        nav.button(text="▶️", callback_data=OrgCD(action="page", value=page + 1))
    if candidate:
        nav.button(text=_("➕ Add “{name}”").format(name=short(candidate, 24)),
                   callback_data=OrgCD(action="add"))
    nav.button(text=_("➕ Not in the list"), callback_data=OrgCD(action="new"))
    nav.adjust(2, 1, 1)
    kb.attach(nav)
    return kb.as_markup()


async def show(message: Message, state: FSMContext, session: AsyncSession,
               place: orgs.Place, page: int = 0, edit: bool = False) -> None:
    """The list (or the search's matches); a place with none yet asks for the name."""
    data = await state.get_data()
    query, candidate = data.get("org_query", ""), data.get("org_candidate", "")
    rows = await orgs.listed(session, place, query)
    if not rows and not query:
        await state.update_data(org_typing=True)
        await message.answer(ask_name())
        return
    items, page, pages = orgs.page_of(rows, page)
    await state.update_data(org_typing=False)  # with a list shown, typing searches it
    if candidate:
        text = _("Nothing found for “{query}”. Choose from the list, or add it as a new "
                 "organisation:").format(query=html.escape(candidate))
    elif query:
        text = _("Found for “{query}”. Choose yours, or type another part of the name:").format(
            query=html.escape(query))
    else:
        text = _("Choose your school, college or university. You can also type a part of its "
                 "name to search:")
    markup = picker_kb(items, page, pages, candidate)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


async def on_text(message: Message, state: FSMContext, session: AsyncSession,
                  place: orgs.Place) -> Chosen | None:
    """A typed new name (after "Not in the list", or where none is listed yet) or a search."""
    data = await state.get_data()
    if data.get("org_typing"):
        return await _named(message, session, place, reg.validate_org_name(message.text))
    query = (message.text or "").strip()[:60]
    found = await orgs.same_as(session, place, query) if orgs.query_words(query) else None
    if found is not None:  # the full name, however spelled: no need to choose
        await message.answer(_("Found in the list: {name}").format(name=html.escape(found.name)))
        return found.id, found.name
    matches = await orgs.listed(session, place, query) if orgs.query_words(query) else []
    await state.update_data(org_query=query if matches else "",
                            org_candidate="" if matches else query)
    await show(message, state, session, place)
    return None


async def _named(message: Message, session: AsyncSession, place: orgs.Place,
                 name: str) -> Chosen:
    found = await orgs.same_as(session, place, name)
    if found is not None:
        await message.answer(_("This organisation is already in the list: {name}").format(
            name=html.escape(found.name)))
        return found.id, found.name
    return None, name


async def on_button(cb: CallbackQuery, callback_data: OrgCD, state: FSMContext,
                    session: AsyncSession, place: orgs.Place) -> Chosen | None:
    action = callback_data.action
    if action == "pick":
        org = await orgs.pick(session, place, callback_data.value)
        await cb.message.edit_reply_markup(reply_markup=None)
        return org.id, org.name
    if action == "page":
        await show(cb.message, state, session, place, callback_data.value, edit=True)
        return None
    if action == "new":
        await state.update_data(org_typing=True, org_candidate="")
        await cb.message.edit_reply_markup(reply_markup=None)
        await cb.message.answer(ask_name())
        return None
    candidate = (await state.get_data()).get("org_candidate")
    if action != "add" or not candidate:
        raise StaleButton()
    await cb.message.edit_reply_markup(reply_markup=None)
    return await _named(cb.message, session, place, reg.validate_org_name(candidate))


async def reset(state: FSMContext) -> None:
    await state.update_data(org_query="", org_typing=False, org_candidate="")
