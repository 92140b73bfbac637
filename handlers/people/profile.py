"""/profile (see and edit one's data), /deleteme (erase it), /mydata (download it)."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.callbacks import ConfirmCD, OrgCD, ProfileCD, RegCD
from bot.config import Settings
from bot.i18n import LANGUAGE_NAMES, fmt_dt
from bot.routing import Routes
from bot.services import organisations as orgs
from bot.services import personal_data
from bot.services import registration as reg
from bot.services.activity import log_activity
from bot.services.errors import DomainError
from bot.services.places import PlaceDirectory
from bot.services.users import UserCache, UserInfo
from db.models import User
from handlers.people import district_step, org_picker
from handlers.people.guardian import guardian_link
from handlers.shared.errors import StaleButton, error_flags
from handlers.shared.keyboards import confirm_kb, region_kb

routes = Routes(__name__)


class ProfileSG(StatesGroup):
    full_name = State()
    org_name = State()
    grade = State()
    region = State()
    district = State()


# Button key in ProfileCD -> the service's field name.
FIELDS = {"name": "full_name", "org": "org_name", "faction": "faction", "pos": "position",
          "grade": "grade", "place": "region_id"}
BUTTONS = {
    "name": __("✏️ Name"),
    "org": __("✏️ Organisation"),
    "faction": __("✏️ Faction"),
    "pos": __("✏️ Position"),
    "grade": __("✏️ Grade / year"),
    "place": __("✏️ Region and district"),
}
NOT_A_COMMAND = ~F.text.startswith("/")


def profile_text(user: User, places: PlaceDirectory, settings: Settings, locale: str) -> str:
    region = places.region(user.region_id)
    district = places.district(user.district_id)
    status = status_label(user)
    lines = [
        _("<b>Your profile</b>"),
        _("Role: {value}").format(value=labels.label(labels.ROLE, user.role)),
        _("Status: {value}").format(value=str(status) if status else "—"),
        _("Name for certificates: {value}").format(value=html.escape(user.full_name or "—")),
    ]
    if user.role != "staff":
        lines += [
            _("Organisation type: {value}").format(
                value=labels.label(labels.ORG_TYPE, user.org_type)),
            _("Organisation: {value}").format(value=html.escape(user.org_name or "—")),
            _("Region: {value}").format(value=html.escape(region.name(locale)) if region else "—"),
            _("District or city: {value}").format(
                value=html.escape(district.name(locale)) if district else "—"),
        ]
    if user.role == "coordinator":
        lines.append(_("Level: {value}").format(
            value=labels.label(labels.LEVEL, user.coordinator_level)))
    if user.role == "student":
        lines += [
            _("Faction: {value}").format(value=labels.label(labels.FACTION, user.faction)),
            _("Position: {value}").format(value=labels.label(labels.POSITION, user.position)),
            _("Grade / year of study: {value}").format(value=html.escape(user.grade or "—")),
        ]
    lines.append(_("Language: {value}").format(value=LANGUAGE_NAMES.get(user.locale, "—")))
    consent = fmt_dt(user.consent_at, locale, settings.tz) if user.consent_at else "—"
    lines.append(_("Consent given: {value}").format(value=consent))
    if user.role == "coordinator":
        lines.append(scope_note(settings.centre_contact))
    return "\n".join(lines)


def status_label(user: User) -> object:
    """A minor's account waiting for a guardian is not "active" yet, whatever its row says."""
    if user.limited and user.status == "active":
        return labels.WAITING_FOR_GUARDIAN
    return labels.STATUS.get(user.status)


def scope_note(contact: str) -> str:
    """Where a coordinator goes to change their area: the centre, with its contact if set."""
    if contact:
        return _("To change your region or district, contact the centre: {contact}").format(
            contact=html.escape(contact))
    return _("Your region and district come with your approval: only centre staff can change "
             "them.")


def profile_kb(user: User) -> InlineKeyboardMarkup:
    return _profile_kb(get_i18n().current_locale, tuple(reg.editable_fields(user)))


# aiogram's keyboard builder costs more than the whole database write of an edit: the few
# distinct keyboards are built once per language.
@lru_cache(maxsize=64)
def _profile_kb(locale: str, allowed: tuple[str, ...]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for key, field in FIELDS.items():
        if field in allowed:
            kb.button(text=str(BUTTONS[key]), callback_data=ProfileCD(field=key))
    kb.adjust(2)
    return kb.as_markup()


def options_kb(key: str, options: dict[str, object]) -> InlineKeyboardMarkup:
    return _options_kb(get_i18n().current_locale, key,
                       tuple((value, str(text)) for value, text in options.items()))


@lru_cache(maxsize=64)
def _options_kb(locale: str, key: str,
                options: tuple[tuple[str, str], ...]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for value, text in options:
        kb.button(text=str(text), callback_data=ProfileCD(field=key, value=value))
    kb.adjust(2)
    return kb.as_markup()


async def _me(session: AsyncSession, info: UserInfo | None) -> User | None:
    """The talking user's row; by primary key, so a row the middleware has just loaded comes
    from the session's identity map without a second query."""
    user = await session.get(User, info.id) if info is not None else None
    return user if user is not None and user.status != "erased" else None


async def show_profile(message: Message, user: User, places: PlaceDirectory, settings: Settings,
                       locale: str) -> None:
    text = profile_text(user, places, settings, locale) + await guardian_note(message.bot, user)
    await message.answer(text, reply_markup=profile_kb(user))


async def guardian_note(bot: Bot, user: User) -> str:
    """The link to forward, under the profile (and under every saved edit) as long as the
    account waits: the registration message may be long gone."""
    if not (user.limited and user.guardian_token):
        return ""
    return "\n\n" + _("Your account waits for a parent's or guardian's confirmation. "
                       "Forward them this link:\n{link}").format(
        link=await guardian_link(bot, user.guardian_token))


@routes.message(Command("profile"))
async def cmd_profile(message: Message, state: FSMContext, session: AsyncSession,
                      places: PlaceDirectory, settings: Settings, locale: str,
                      user: UserInfo | None) -> None:
    me = await _me(session, user)
    if me is None:
        await message.answer(_("You are not registered yet. Send /start."))
        return
    if (await state.get_state() or "").startswith("ProfileSG"):
        await state.clear()
    await show_profile(message, me, places, settings, locale)


# --- editing -----------------------------------------------------------------------------

async def ask(key: str, message: Message, user: User, places: PlaceDirectory,
              locale: str) -> None:
    """The question for one field (asked again after a wrong answer)."""
    if key == "name":
        await message.answer(_("Type your full name as it should appear on certificates "
                               "(2–120 characters):"))
    elif key == "grade":
        if (user.org_type or "school") == "school":
            await message.answer(_("Which grade are you in? Type a number from 1 to 11:"))
        else:
            await message.answer(_("Which year of study are you in? Type a number from 1 to 5:"))
    elif key == "faction":
        await message.answer(_("Which faction are you in?"),
                             reply_markup=options_kb("faction", labels.FACTION))
    elif key == "pos":
        await message.answer(_("What is your position in the parliament?"),
                             reply_markup=options_kb("pos", labels.POSITION))
    elif key == "place":
        await message.answer(_("Choose your region (oblast or city):"),
                             reply_markup=region_kb(places.regions, locale))


STATE_OF = {"name": ProfileSG.full_name, "org": ProfileSG.org_name, "grade": ProfileSG.grade,
            "place": ProfileSG.region}
KEY_OF_STATE = {ProfileSG.full_name.state: "name", ProfileSG.org_name.state: "org",
                ProfileSG.grade.state: "grade"}


@routes.callback_query(ProfileCD.filter(F.value == ""))
async def on_edit(cb: CallbackQuery, callback_data: ProfileCD, state: FSMContext,
                  session: AsyncSession, places: PlaceDirectory, locale: str,
                  user: UserInfo | None) -> None:
    me = await _me(session, user)
    field = FIELDS.get(callback_data.field)
    if me is None or field not in reg.editable_fields(me):
        raise StaleButton()
    if callback_data.field in STATE_OF:
        await state.set_state(STATE_OF[callback_data.field])
        await state.set_data({})
    elif (await state.get_state() or "").startswith("ProfileSG"):
        await state.clear()  # a button choice ends a half-done typed edit
    if callback_data.field == "org":
        await org_picker.show(cb.message, state, session, orgs.place_of(me))
        return
    await ask(callback_data.field, cb.message, me, places, locale)


async def saved_text(bot: Bot, user: User, places: PlaceDirectory, settings: Settings,
                     locale: str) -> str:
    return _("Saved.") + "\n\n" + profile_text(user, places, settings, locale) + \
        await guardian_note(bot, user)


@routes.callback_query(ProfileCD.filter(F.field.in_({"faction", "pos"})),
                       flags=error_flags(alert=True))
async def on_option(cb: CallbackQuery, callback_data: ProfileCD, session: AsyncSession,
                    users: UserCache, places: PlaceDirectory, settings: Settings, locale: str,
                    user: UserInfo | None) -> None:
    """A choice by button: the options message turns into the updated profile."""
    me = await _me(session, user)
    if me is None:
        raise StaleButton()
    await reg.update_profile(session, users, me, FIELDS[callback_data.field],
                             callback_data.value, check_role=True)
    await cb.message.edit_text(await saved_text(cb.bot, me, places, settings, locale),
                               reply_markup=profile_kb(me))


async def ask_again(message: Message, data: dict[str, Any]) -> None:
    """After a refused value (error_flags `then`): the same field's question once more."""
    me = await _me(data["session"], data["user"])
    key = KEY_OF_STATE.get(await data["state"].get_state() or "")
    if me is not None and key == "org":
        await org_picker.show(message, data["state"], data["session"], orgs.place_of(me))
    elif me is not None and key is not None:
        await ask(key, message, me, data["places"], data["locale"])


@routes.message(ProfileSG.full_name, F.text, NOT_A_COMMAND, flags=error_flags(then=ask_again))
@routes.message(ProfileSG.grade, F.text, NOT_A_COMMAND, flags=error_flags(then=ask_again))
async def on_text_value(message: Message, state: FSMContext, session: AsyncSession,
                        users: UserCache, places: PlaceDirectory, settings: Settings,
                        locale: str, user: UserInfo | None) -> None:
    key = KEY_OF_STATE[await state.get_state()]
    me = await _me(session, user)
    if me is None:
        await state.clear()
        return
    await reg.update_profile(session, users, me, FIELDS[key], message.text, check_role=True)
    await state.clear()
    await message.answer(await saved_text(message.bot, me, places, settings, locale),
                         reply_markup=profile_kb(me))


@routes.message(ProfileSG.full_name, ~F.text)
@routes.message(ProfileSG.org_name, ~F.text)
@routes.message(ProfileSG.grade, ~F.text)
async def on_not_text(message: Message, state: FSMContext, session: AsyncSession,
                      places: PlaceDirectory, locale: str, user: UserInfo | None) -> None:
    me = await _me(session, user)
    if me is None:
        await state.clear()
        return
    await message.answer(_("Please answer with a text message."))
    if await state.get_state() == ProfileSG.org_name.state:
        await org_picker.show(message, state, session, orgs.place_of(me))
        return
    await ask(KEY_OF_STATE[await state.get_state()], message, me, places, locale)


# --- organisation (the registration's organisation picker) -------------------------------

@routes.message(ProfileSG.org_name, F.text, NOT_A_COMMAND, flags=error_flags(then=ask_again))
async def on_org_text(message: Message, state: FSMContext, session: AsyncSession,
                      users: UserCache, places: PlaceDirectory, settings: Settings,
                      locale: str, user: UserInfo | None) -> None:
    me = await _me(session, user)
    if me is None:
        await state.clear()
        return
    chosen = await org_picker.on_text(message, state, session, orgs.place_of(me))
    if chosen is not None:
        await org_saved(message, state, session, users, me, chosen, places, settings, locale)


@routes.callback_query(ProfileSG.org_name, OrgCD.filter(), flags=error_flags(alert=True))
async def on_org_button(cb: CallbackQuery, callback_data: OrgCD, state: FSMContext,
                        session: AsyncSession, users: UserCache, places: PlaceDirectory,
                        settings: Settings, locale: str, user: UserInfo | None) -> None:
    me = await _me(session, user)
    if me is None:
        raise StaleButton()
    chosen = await org_picker.on_button(cb, callback_data, state, session, orgs.place_of(me))
    if chosen is not None:
        await org_saved(cb.message, state, session, users, me, chosen, places, settings, locale)


async def org_saved(message: Message, state: FSMContext, session: AsyncSession,
                    users: UserCache, me: User, chosen: org_picker.Chosen,
                    places: PlaceDirectory, settings: Settings, locale: str) -> None:
    await reg.set_organisation(session, users, me, chosen[0], chosen[1])
    await state.clear()
    await message.answer(await saved_text(message.bot, me, places, settings, locale),
                         reply_markup=profile_kb(me))


# --- region and district (the registration's district picker) -------------------------------

@routes.callback_query(ProfileSG.region, RegCD.filter(F.field == "region"),
                       flags=error_flags(alert=True))
async def on_region(cb: CallbackQuery, callback_data: RegCD, state: FSMContext,
                    places: PlaceDirectory, locale: str) -> None:
    region = district_step.region_of(places, callback_data.value)
    await cb.message.edit_reply_markup(reply_markup=None)
    await district_step.ask_district(cb.message, state, places, region.id, locale,
                                     ProfileSG.district)


@routes.message(ProfileSG.region, F.text, NOT_A_COMMAND)
async def on_region_text(message: Message, state: FSMContext, places: PlaceDirectory,
                         locale: str) -> None:
    region = places.find_region(message.text or "")
    if region is None:
        await message.answer(_("I do not know such a region. Please choose one of the buttons."))
        await message.answer(_("Choose your region (oblast or city):"),
                             reply_markup=region_kb(places.regions, locale))
        return
    await district_step.ask_district(message, state, places, region.id, locale,
                                     ProfileSG.district)


@routes.callback_query(ProfileSG.district, RegCD.filter(F.field == "district"),
                       flags=error_flags(alert=True))
async def on_district(cb: CallbackQuery, callback_data: RegCD, state: FSMContext,
                      session: AsyncSession, users: UserCache, places: PlaceDirectory,
                      settings: Settings, locale: str, user: UserInfo | None) -> None:
    data = await state.get_data()
    place = places.district_from(callback_data.value)
    me = await _me(session, user)
    if me is None or place is None or place.region_id != data.get("region_id"):
        raise DomainError("unknown_district")
    await cb.message.edit_reply_markup(reply_markup=None)
    await state.clear()
    # both checked before either is stored: a refusal leaves the old place whole
    await reg.change_place(session, users, me, place.region_id, place.id)
    await cb.message.answer(await saved_text(cb.bot, me, places, settings, locale),
                            reply_markup=profile_kb(me))


@routes.callback_query(ProfileSG.district, RegCD.filter(F.field == "back"))
async def on_district_back(cb: CallbackQuery, state: FSMContext, places: PlaceDirectory,
                           locale: str) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    await state.set_state(ProfileSG.region)
    await state.set_data({})
    await cb.message.answer(_("Choose your region (oblast or city):"),
                            reply_markup=region_kb(places.regions, locale))


district_step.declare(routes, ProfileSG.district)


@routes.message(ProfileSG.region, ~F.text)
@routes.message(ProfileSG.district, ~F.text)
async def on_place_not_text(message: Message) -> None:
    await message.answer(_("Please choose one of the buttons."))


# --- /deleteme and /mydata ---------------------------------------------------------------

@routes.message(Command("deleteme"))
async def cmd_deleteme(message: Message) -> None:
    await message.answer(
        _("This erases your name, organisation, grade and Telegram id from the bot. Your "
          "past participation stays only as anonymous counts. You can register again later "
          "with /start.\n\nErase your personal data?"),
        reply_markup=confirm_kb("erase", _("Yes, erase my data"), _("No, keep it")))


@routes.callback_query(ConfirmCD.filter(F.action == "erase"))
async def on_erase(cb: CallbackQuery, callback_data: ConfirmCD, state: FSMContext,
                   session: AsyncSession, users: UserCache, clock: Callable[[], datetime],
                   fsm_storage: BaseStorage, user: UserInfo | None) -> None:
    if not callback_data.yes:
        await cb.message.edit_reply_markup(reply_markup=None)
        await cb.message.answer(_("Nothing was erased."))
        return
    db_user = await _me(session, user)
    if db_user is None:
        await cb.message.edit_reply_markup(reply_markup=None)
        await cb.message.answer(_("There is nothing to erase: you are not registered."))
        return
    # Erased before anything is sent back: someone who blocks the bot right after pressing
    # "Yes" (the reply then fails) is erased all the same.
    await state.clear()
    await personal_data.erase_user(session, users, db_user, clock())
    forget = getattr(fsm_storage, "forget_user", None)
    if forget is not None:
        forget(cb.from_user.id)
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(_("Your personal data was erased. For the bot you are a guest "
                              "now; send /start if you want to register again."))


@routes.message(Command("mydata"))
async def cmd_mydata(message: Message, session: AsyncSession, user: UserInfo | None) -> None:
    me = await _me(session, user)
    if me is None:
        await message.answer(_("You are not registered yet. Send /start."))
        return
    data = await personal_data.export_user_data(session, me)
    await log_activity(session, "data_export", me)
    raw = json.dumps(data, ensure_ascii=False, indent=2).encode()
    await message.answer_document(
        BufferedInputFile(raw, filename="my_data.json"),
        caption=_("Everything the bot stores about you: your profile, entries, webinar "
                  "registrations, certificates and the log of your actions."))
