"""/orgs (staff): a district's organisations with their member counts, and merging a
duplicate into the record it repeats (a confirmation first). Rules:
bot.services.organisations."""

from __future__ import annotations

import html
from typing import Any

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.callbacks import OrgAdminCD, RegCD
from bot.routing import Routes
from bot.services import organisations as orgs
from bot.services.errors import DomainError
from bot.services.places import PlaceDirectory
from bot.services.stats import BoardCache
from bot.services.users import UserInfo
from handlers.admin.common import active_me
from handlers.people import district_step
from handlers.people.org_picker import short
from handlers.shared.errors import StaleButton, error_flags
from handlers.shared.keyboards import region_kb

routes = Routes(__name__)
PAGE = 8  # buttons per page: with ◀ ▶ within WhatsApp's 10 rows


class OrgsSG(StatesGroup):
    region = State()
    district = State()
    source = State()  # choosing the duplicate
    target = State()  # choosing the record it merges into
    confirm = State()


@routes.message(Command("orgs"))
async def cmd_orgs(message: Message, state: FSMContext, places: PlaceDirectory,
                   locale: str) -> None:
    await state.clear()
    await state.set_state(OrgsSG.region)
    await message.answer(_("Organisations of a district: which region?"),
                         reply_markup=region_kb(places.regions, locale))


@routes.callback_query(OrgsSG.region, RegCD.filter(F.field == "region"),
                       flags=error_flags(alert=True))
async def on_region(cb: CallbackQuery, callback_data: RegCD, state: FSMContext,
                    places: PlaceDirectory, locale: str) -> None:
    region = district_step.region_of(places, callback_data.value)
    await cb.message.edit_reply_markup(reply_markup=None)
    await district_step.ask_district(cb.message, state, places, region.id, locale,
                                     OrgsSG.district, district_step.staff_prompt,
                                     whole_region=True)


@routes.callback_query(OrgsSG.district, RegCD.filter(F.field == "district"),
                       flags=error_flags(alert=True))
async def on_district(cb: CallbackQuery, callback_data: RegCD, state: FSMContext,
                      session: AsyncSession, places: PlaceDirectory, locale: str) -> None:
    data = await state.get_data()
    place = places.district_from(callback_data.value)
    if place is None or place.region_id != data.get("region_id"):
        raise DomainError("unknown_district")
    await cb.message.edit_reply_markup(reply_markup=None)
    await state.set_state(OrgsSG.source)
    await state.update_data(district_id=place.id, query="")
    await show_list(cb.message, state, session, places, locale)


@routes.callback_query(OrgsSG.district, RegCD.filter(F.field == "back"))
async def on_back(cb: CallbackQuery, state: FSMContext, places: PlaceDirectory,
                  locale: str) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    await state.set_state(OrgsSG.region)
    await cb.message.answer(_("Organisations of a district: which region?"),
                            reply_markup=region_kb(places.regions, locale))


@routes.callback_query(OrgsSG.district, RegCD.filter(F.field == "whole"),
                       flags=error_flags(alert=True))
async def on_whole_region(cb: CallbackQuery, callback_data: RegCD, state: FSMContext,
                          session: AsyncSession, places: PlaceDirectory, locale: str) -> None:
    """The region's own records: regional coordinators' organisations have no district."""
    data = await state.get_data()
    if callback_data.value != str(data.get("region_id")):
        raise StaleButton()
    await cb.message.edit_reply_markup(reply_markup=None)
    await state.set_state(OrgsSG.source)
    await state.update_data(district_id=None, query="")
    await show_list(cb.message, state, session, places, locale)


district_step.declare(routes, OrgsSG.district, district_step.staff_prompt, whole_region=True)


# --- the list, the choice of the two records, the confirmation -----------------------------

def list_kb(rows: list[orgs.OrgCount], page: int, pages: int,
            action: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for row in rows:
        kb.button(text=f"{short(row.org.name, 32)} · {row.members}",
                  callback_data=OrgAdminCD(action=action, value=row.org.id))
    kb.adjust(1)
    nav = InlineKeyboardBuilder()
    if page > 0:
        nav.button(text="◀️", callback_data=OrgAdminCD(action="page", value=page - 1))
    if page < pages - 1:
        nav.button(text="▶️", callback_data=OrgAdminCD(action="page", value=page + 1))
    kb.attach(nav)
    return kb.as_markup()


def org_line(n: int, row: orgs.OrgCount) -> str:
    people = ngettext("{count} person", "{count} people", row.members).format(
        count=row.members)
    return f"{n}. {html.escape(row.org.name)} — {labels.label(labels.ORG_TYPE, row.org.org_type)}"\
        f" · {people}"


async def show_list(message: Message, state: FSMContext, session: AsyncSession,
                    places: PlaceDirectory, locale: str, page: int = 0,
                    edit: bool = False) -> None:
    """The district's organisations (the search's matches), largest first; in the target
    step those of the duplicate's type, without it."""
    data = await state.get_data()
    rows = [r for r in await orgs.with_members(session, data["region_id"], data["district_id"],
                                               data.get("query", ""))
            if r.org.id != data.get("source")
            and r.org.org_type == data.get("source_type", r.org.org_type)]
    pages = max(1, -(-len(rows) // PAGE))
    page = min(max(page, 0), pages - 1)
    shown = rows[page * PAGE:(page + 1) * PAGE]
    target_step = await state.get_state() == OrgsSG.target.state
    lines = [_list_title(data, area_name(places, data, locale), target_step, len(rows))]
    lines += [org_line(page * PAGE + i, row) for i, row in enumerate(shown, start=1)]
    if not rows:
        lines.append(_("Nothing found. Type another part of the name, or send /cancel."))
    text = "\n".join(lines)
    markup = list_kb(shown, page, pages, "dst" if target_step else "src")
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


def area_name(places: PlaceDirectory, data: dict[str, Any], locale: str) -> str:
    district = places.district(data["district_id"])
    if district is not None:
        return district.name(locale)
    region = places.region(data["region_id"])
    return " — ".join((region.name(locale) if region else "—",
                       _("🏛 Regional level, no district")))


def _list_title(data: dict[str, Any], district: str, target_step: bool, count: int) -> str:
    if target_step:
        return _("Merge “{name}” into which organisation? Press it, or type a part of its "
                 "name to search:").format(name=html.escape(data.get("source_name", "")))
    return ngettext(
        "{district}: {count} organisation. To merge a duplicate into another, press the "
        "duplicate. Type a part of a name to search.",
        "{district}: {count} organisations. To merge a duplicate into another, press the "
        "duplicate. Type a part of a name to search.", count).format(
        district=html.escape(district), count=count)


@routes.message(OrgsSG.source, F.text, ~F.text.startswith("/"))
@routes.message(OrgsSG.target, F.text, ~F.text.startswith("/"))
async def on_search(message: Message, state: FSMContext, session: AsyncSession,
                    places: PlaceDirectory, locale: str) -> None:
    await state.update_data(query=(message.text or "")[:60])
    await show_list(message, state, session, places, locale)


@routes.callback_query(OrgsSG.source, OrgAdminCD.filter(F.action == "page"))
@routes.callback_query(OrgsSG.target, OrgAdminCD.filter(F.action == "page"))
async def on_page(cb: CallbackQuery, callback_data: OrgAdminCD, state: FSMContext,
                  session: AsyncSession, places: PlaceDirectory, locale: str) -> None:
    await show_list(cb.message, state, session, places, locale, callback_data.value, edit=True)


@routes.callback_query(OrgsSG.source, OrgAdminCD.filter(F.action == "src"),
                       flags=error_flags(alert=True))
async def on_source(cb: CallbackQuery, callback_data: OrgAdminCD, state: FSMContext,
                    session: AsyncSession, places: PlaceDirectory, locale: str) -> None:
    org = await _of_district(session, state, callback_data.value)
    await cb.message.edit_reply_markup(reply_markup=None)
    await state.set_state(OrgsSG.target)
    await state.update_data(source=org.id, source_name=org.name, source_type=org.org_type,
                            query="")
    await show_list(cb.message, state, session, places, locale)


@routes.callback_query(OrgsSG.target, OrgAdminCD.filter(F.action == "dst"),
                       flags=error_flags(alert=True))
async def on_target(cb: CallbackQuery, callback_data: OrgAdminCD, state: FSMContext,
                    session: AsyncSession) -> None:
    data = await state.get_data()
    target = await _of_district(session, state, callback_data.value)
    source, target = await orgs.mergeable(session, data["source"], target.id)
    members = await orgs.members_of(session, source.id)
    await cb.message.edit_reply_markup(reply_markup=None)
    await state.set_state(OrgsSG.confirm)
    await state.update_data(target=target.id)
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Merge"), callback_data=OrgAdminCD(action="yes"))
    kb.button(text=_("Cancel"), callback_data=OrgAdminCD(action="no"))
    await cb.message.answer(ngettext(
        "Merge “{source}” into “{target}”? Its {count} person, their entries and jury seats "
        "move to “{target}”, and “{source}” leaves the list. This cannot be undone.",
        "Merge “{source}” into “{target}”? Its {count} people, their entries and jury seats "
        "move to “{target}”, and “{source}” leaves the list. This cannot be undone.",
        members).format(source=html.escape(source.name), target=html.escape(target.name),
                        count=members), reply_markup=kb.as_markup())


@routes.callback_query(OrgsSG.confirm, OrgAdminCD.filter(F.action.in_({"yes", "no"})),
                       flags=error_flags(alert=True, clear_state=True))
async def on_confirm(cb: CallbackQuery, callback_data: OrgAdminCD, state: FSMContext,
                     session: AsyncSession, boards: BoardCache, user: UserInfo | None) -> None:
    data = await state.get_data()
    await cb.message.edit_reply_markup(reply_markup=None)
    await state.clear()
    if callback_data.action == "no":
        await cb.message.answer(_("Nothing was merged."))
        return
    staff = await active_me(session, user)
    done = await orgs.merge(session, staff, data["source"], data["target"])
    boards.clear()  # the rankings kept a few minutes would still show the duplicate
    await cb.message.answer(_("Merged into “{target}”: {people}, {entries}, {jurors}.").format(
        target=html.escape(done.target.name),
        people=ngettext("{count} person", "{count} people", done.people).format(
            count=done.people),
        entries=ngettext("{count} entry", "{count} entries", done.entries).format(
            count=done.entries),
        jurors=ngettext("{count} jury seat", "{count} jury seats", done.jurors).format(
            count=done.jurors)))


async def _of_district(session: AsyncSession, state: FSMContext,
                       org_id: int) -> orgs.Organisation:
    """A record of the chosen district (a forged or stale id is refused)."""
    data = await state.get_data()
    org = await session.get(orgs.Organisation, org_id)
    if org is None or org.merged_into_id is not None or (org.region_id, org.district_id) != (
            data.get("region_id"), data.get("district_id")):
        raise DomainError("org_gone")
    return org


@routes.message(OrgsSG.region, ~F.text.startswith("/"))
@routes.message(OrgsSG.confirm, ~F.text.startswith("/"))
@routes.message(OrgsSG.district, ~F.text)
@routes.message(OrgsSG.source, ~F.text)
@routes.message(OrgsSG.target, ~F.text)
async def on_need_button(message: Message) -> None:
    await message.answer(_("Please choose one of the buttons, or send /cancel."))
