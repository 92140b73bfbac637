"""/start and the registration flow: language → role → … → consent → main menu."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiogram import F
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.callbacks import ConfirmCD, LangCD, OrgCD, RegCD
from bot.config import Settings
from bot.i18n import LANGUAGES, PoI18n
from bot.notices.approvals import notify_staff_of_request
from bot.routing import Routes
from bot.services import coordinator_requests
from bot.services import organisations as orgs
from bot.services import registration as reg
from bot.services.approvals import regional_approvers
from bot.services.errors import DomainError
from bot.services.places import PlaceDirectory
from bot.services.staff import listed_staff
from bot.services.users import UserCache, UserInfo
from db.models import User
from handlers.people import district_step, org_picker
from handlers.people.district_step import show_districts
from handlers.people.guardian import limited_text, show_guardian_consent
from handlers.shared.errors import StaleButton, error_flags
from handlers.shared.keyboards import choice_kb, confirm_kb, language_kb, region_kb
from handlers.shared.menu import send_main_menu

routes = Routes(__name__)


class RegistrationSG(StatesGroup):
    language = State()
    role = State()
    level = State()
    org_type = State()
    region = State()
    district = State()
    org_name = State()
    faction = State()
    position = State()
    grade = State()
    age = State()
    consent = State()


STEPS = ("language", "role", "level", "org_type", "region", "district", "org_name",
         "faction", "position", "grade", "age", "consent")


def step_needed(step: str, d: dict[str, Any]) -> bool:
    role = d.get("role")
    staff, student = role == "staff", role == "student"
    by_invite = bool(d.get("invite_code"))
    rules = {
        "language": "locale" not in d,
        "role": not role,
        "level": role == "coordinator" and not by_invite and not d.get("level"),
        "org_type": not staff and not d.get("org_type"),
        "region": not staff and not d.get("region_id"),
        "district": not staff and not d.get("district_id") and d.get("level") != "regional",
        "org_name": not staff and not d.get("org_name"),
        "faction": student and not d.get("faction"),
        "position": student and not d.get("position"),
        "grade": student and not d.get("grade"),
        "age": student and not d.get("age_band"),
        "consent": True,
    }
    return rules[step]


async def advance(message: Message, state: FSMContext, places: PlaceDirectory,
                  settings: Settings, session: AsyncSession) -> None:
    """Ask the first question that is still unanswered."""
    data = await state.get_data()
    step = next(s for s in STEPS if step_needed(s, data))
    await state.set_state(getattr(RegistrationSG, step))
    await ask(step, message, state, data, places, settings, session)


async def ask_again(message: Message, data: dict[str, Any]) -> None:
    """After a refused answer (error_flags `then`): the question once more."""
    await advance(message, data["state"], data["places"], data["settings"], data["session"])


async def ask(step: str, message: Message, state: FSMContext, data: dict[str, Any],
              places: PlaceDirectory, settings: Settings, session: AsyncSession) -> None:
    locale = data.get("locale", settings.default_locale)
    if step == "language":
        await message.answer("Тілді таңдаңыз · Выберите язык · Choose your language",
                             reply_markup=language_kb())
    elif step == "role":
        options = {k: labels.ROLE[k] for k in ("student", "coordinator")}
        await message.answer(_("Who are you in the parliament movement?"),
                             reply_markup=choice_kb("role", options))
    elif step == "level":
        await message.answer(_("At which level do you coordinate?"),
                             reply_markup=choice_kb("level", labels.LEVEL))
    elif step == "org_type":
        await message.answer(_("What kind of organisation?"),
                             reply_markup=choice_kb("org", labels.ORG_TYPE, columns=3))
    elif step == "region":
        await message.answer(_("Choose your region (oblast or city):"),
                             reply_markup=region_kb(places.regions, locale))
    elif step == "district":
        await show_districts(message, places, data["region_id"], 0,
                             data.get("district_query", ""), locale)
    elif step == "org_name":
        await org_picker.show(message, state, session, orgs.place_of(data))
    elif step == "faction":
        await message.answer(_("Which faction are you in?"),
                             reply_markup=choice_kb("faction", labels.FACTION, columns=2))
    elif step == "position":
        await message.answer(_("What is your position in the parliament?"),
                             reply_markup=choice_kb("pos", labels.POSITION))
    elif step == "grade":
        if data.get("org_type") == "school":
            await message.answer(_("Which grade are you in? Type a number from 1 to 11:"))
        else:
            await message.answer(_("Which year of study are you in? Type a number from 1 to 5:"))
    elif step == "age":
        await message.answer(_("How old are you?"),
                             reply_markup=choice_kb("age", labels.AGE_BAND, columns=2))
    elif step == "consent":
        await message.answer(consent_text(settings.consent_version),
                             reply_markup=confirm_kb("consent", _("✅ I agree"),
                                                     _("I do not agree")))


async def clear_keeping_language(state: FSMContext) -> None:
    """Leave the flow; a guest keeps the language they chose (not personal data)."""
    locale = (await state.get_data()).get("locale")
    await state.clear()
    if locale:
        await state.set_data({"locale": locale})


def consent_text(version: str) -> str:
    return _(
        "<b>Consent to the processing of personal data</b> (version {version})\n\n"
        "To take part we store: your messenger account (Telegram id and @username, or "
        "WhatsApp number) and name, your role, organisation, region and district, and for "
        "students the faction, position, grade and age category. We use them only "
        "to run the parliament's challenges, contests and webinars and to count "
        "participation. Nothing is shared outside the centre. You can see your data with "
        "/profile and erase it at any time with /deleteme.\n\n"
        "Do you agree?"
    ).format(version=version)


# --- /start ------------------------------------------------------------------------------

@routes.message(CommandStart(deep_link=True))
async def cmd_start_link(message: Message, command: CommandObject, state: FSMContext,
                         session: AsyncSession, places: PlaceDirectory, settings: Settings,
                         i18n: PoI18n, clock: Callable[[], datetime],
                         user: UserInfo | None) -> None:
    payload = command.args or ""
    if payload.startswith("g_"):
        await show_guardian_consent(message, session, payload[2:], settings, i18n, user)
        return
    kind = "coordinator" if payload.startswith("inv_") else "join"
    code = payload.split("_", 1)[-1]
    if user is not None:
        await message.answer(_("You are already registered. Use /profile to change your data."))
        return
    invite = await reg.check_invite(session, code, kind, clock())
    await state.clear()
    seed: dict[str, Any] = {"invite_code": code} if kind == "coordinator" else {}
    # A join link fixes the place, not the organisation type: a college student may come
    # through a school coordinator's link and must not be filed (and targeted) as a school.
    seed.update(role="coordinator" if kind == "coordinator" else "student",
                region_id=invite.region_id,
                org_type=invite.org_type if kind == "coordinator" else None)
    if invite.district_id:
        seed["district_id"] = invite.district_id
    if kind == "coordinator":
        seed["level"] = invite.level
    if kind == "join":
        await reg.use_join_link(session, code, clock())
        seed["join_code"] = code
    await state.set_data({k: v for k, v in seed.items() if v is not None})
    await message.answer(GREETING)  # the language is not chosen yet: all three
    await advance(message, state, places, settings, session)


@routes.message(CommandStart())
async def cmd_start(message: Message, state: FSMContext, places: PlaceDirectory,
                    settings: Settings, user: UserInfo | None, role: str,
                    session: AsyncSession) -> None:
    await state.clear()
    if user is not None:
        await send_main_menu(message, role)
        return
    if message.from_user and await listed_staff(session, settings.staff_ids,
                                                settings.staff_whatsapp, message.from_user.id):
        await state.set_data({"role": "staff"})
    await message.answer(GREETING)
    await advance(message, state, places, settings, session)


# --- answers by button -------------------------------------------------------------------

@routes.callback_query(RegistrationSG.language, LangCD.filter())
async def on_language(cb: CallbackQuery, callback_data: LangCD, state: FSMContext,
                      session: AsyncSession,
                      places: PlaceDirectory, settings: Settings, i18n: PoI18n) -> None:
    if callback_data.code not in LANGUAGES:  # a forged button (review I1)
        raise StaleButton()
    await state.update_data(locale=callback_data.code)
    with i18n.use_locale(callback_data.code):
        await cb.message.edit_reply_markup(reply_markup=None)
        await advance(cb.message, state, places, settings, session)


FIELD_STATES = {
    "role": (RegistrationSG.role, "role"),
    "level": (RegistrationSG.level, "level"),
    "org": (RegistrationSG.org_type, "org_type"),
    "faction": (RegistrationSG.faction, "faction"),
    "pos": (RegistrationSG.position, "position"),
    "age": (RegistrationSG.age, "age_band"),
}
ALLOWED = {"role": ("student", "coordinator"), "level": tuple(labels.LEVEL),
           "org": tuple(labels.ORG_TYPE), "faction": tuple(labels.FACTION),
           "pos": tuple(labels.POSITION), "age": tuple(labels.AGE_BAND)}


@routes.callback_query(RegCD.filter(F.field.in_(FIELD_STATES)), flags=error_flags(alert=True))
async def on_choice(cb: CallbackQuery, callback_data: RegCD, state: FSMContext,
                    session: AsyncSession, places: PlaceDirectory, settings: Settings,
                    clock: Callable[[], datetime]) -> None:
    expected_state, key = FIELD_STATES[callback_data.field]
    if await state.get_state() != expected_state.state or \
            callback_data.value not in ALLOWED[callback_data.field]:
        raise StaleButton()
    if (callback_data.field, callback_data.value) == ("role", "coordinator"):
        # said at once, not after the whole form (consent checks it again)
        await coordinator_requests.admit(session, cb.from_user.id, clock())
    await state.update_data({key: callback_data.value})
    await cb.message.edit_reply_markup(reply_markup=None)
    await advance(cb.message, state, places, settings, session)


@routes.callback_query(RegistrationSG.region, RegCD.filter(F.field == "region"),
                       flags=error_flags(alert=True))
async def on_region(cb: CallbackQuery, callback_data: RegCD, state: FSMContext,
                    session: AsyncSession,
                    places: PlaceDirectory, settings: Settings) -> None:
    region = places.region_from(callback_data.value)
    if region is None:
        raise DomainError("unknown_region")
    await state.update_data(region_id=region.id, district_id=None, district_query="")
    await cb.message.edit_reply_markup(reply_markup=None)
    await advance(cb.message, state, places, settings, session)


@routes.callback_query(RegistrationSG.district, RegCD.filter(F.field == "district"),
                       flags=error_flags(alert=True))
async def on_district(cb: CallbackQuery, callback_data: RegCD, state: FSMContext,
                      session: AsyncSession,
                      places: PlaceDirectory, settings: Settings) -> None:
    data = await state.get_data()
    place = places.district_from(callback_data.value)
    if place is None or place.region_id != data.get("region_id"):
        raise DomainError("unknown_district")
    await state.update_data(district_id=place.id)
    await cb.message.edit_reply_markup(reply_markup=None)
    await advance(cb.message, state, places, settings, session)


@routes.callback_query(RegistrationSG.district, RegCD.filter(F.field == "back"))
async def on_district_back(cb: CallbackQuery, state: FSMContext,
                           session: AsyncSession, places: PlaceDirectory,
                           settings: Settings) -> None:
    data = await state.get_data()
    if data.get("join_code"):
        await cb.answer(_("Your region comes from the link you opened."), show_alert=True)
        return
    await state.update_data(region_id=None, district_query="")
    await cb.message.edit_reply_markup(reply_markup=None)
    await advance(cb.message, state, places, settings, session)


district_step.declare(routes, RegistrationSG.district, search=False)


@routes.callback_query(RegistrationSG.consent, ConfirmCD.filter(F.action == "consent"),
                       flags=error_flags(clear_state=True))
async def on_consent(cb: CallbackQuery, callback_data: ConfirmCD, state: FSMContext,
                     session: AsyncSession, users: UserCache, i18n: PoI18n,
                     places: PlaceDirectory, settings: Settings,
                     clock: Callable[[], datetime]) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    if not callback_data.yes:
        await clear_keeping_language(state)
        await cb.message.answer(_("Without your consent we cannot register you. Your answers "
                                  "were not kept. Send /start if you change your mind."))
        return
    data = await state.get_data()
    registration = reg.Registration.from_fsm(data)
    registration.full_name = reg.certificate_name(cb.from_user.full_name if cb.from_user else "")
    registration.username = cb.from_user.username if cb.from_user else None
    # The limits of a minor are stored here too, before any reply (review M3).
    user = await reg.complete_registration(
        session, users, cb.from_user.id, cb.message.chat.id, registration,
        settings.consent_version, registration.role == "staff", now=clock(),
        guardian_age=settings.guardian_age)
    await state.clear()
    if user.status == "pending":
        await notify_staff_of_request(session, i18n.translator, places, user, clock())
        await cb.message.answer(await request_sent_text(session, user))
        return
    if user.full_name:
        name_note = _("Your name for certificates: {name}. If it is not right, change it in "
                      "/profile.").format(name=html.escape(user.full_name))
    else:
        name_note = _("Your name for certificates is not set yet: please add it in /profile.")
    await cb.message.answer(_("Registration complete. Welcome!") + "\n" + name_note)
    if user.limited and user.guardian_token:
        await cb.message.answer(await limited_text(cb.bot, settings, user.guardian_token))
    await send_main_menu(cb.message, user.role if user.role != "coordinator" else "coordinator")


async def request_sent_text(session: AsyncSession, user: User) -> str:
    """Where the request went: to the region's coordinator, or to the centre."""
    if await regional_approvers(session, user):
        return _("Thank you! Your request to become a coordinator was sent to your region's "
                 "coordinator. You will get a message when it is approved.")
    return _("Thank you! Your request to become a coordinator was sent to the centre. You "
             "will get a message when it is approved.")


# --- answers by text ---------------------------------------------------------------------

@routes.message(RegistrationSG.org_name, F.text, flags=error_flags(then=ask_again))
async def on_org_name(message: Message, state: FSMContext, session: AsyncSession,
                      places: PlaceDirectory, settings: Settings) -> None:
    place = orgs.place_of(await state.get_data())
    chosen = await org_picker.on_text(message, state, session, place)
    if chosen is not None:
        await org_chosen(message, state, session, places, settings, chosen)


@routes.callback_query(RegistrationSG.org_name, OrgCD.filter(), flags=error_flags(alert=True))
async def on_org_button(cb: CallbackQuery, callback_data: OrgCD, state: FSMContext,
                        session: AsyncSession, places: PlaceDirectory,
                        settings: Settings) -> None:
    place = orgs.place_of(await state.get_data())
    chosen = await org_picker.on_button(cb, callback_data, state, session, place)
    if chosen is not None:
        await org_chosen(cb.message, state, session, places, settings, chosen)


async def org_chosen(message: Message, state: FSMContext, session: AsyncSession,
                     places: PlaceDirectory, settings: Settings,
                     chosen: org_picker.Chosen) -> None:
    """A record (its id) or a new name (None: the record is made at consent)."""
    await org_picker.reset(state)
    await state.update_data(organisation_id=chosen[0], org_name=chosen[1])
    await advance(message, state, places, settings, session)


@routes.message(RegistrationSG.grade, F.text, flags=error_flags(then=ask_again))
async def on_grade(message: Message, state: FSMContext,
                   session: AsyncSession, places: PlaceDirectory,
                   settings: Settings) -> None:
    data = await state.get_data()
    grade = reg.validate_grade(message.text, data.get("org_type") or "school")
    await state.update_data(grade=grade)
    await advance(message, state, places, settings, session)


@routes.message(RegistrationSG.region, F.text)
async def on_region_text(message: Message, state: FSMContext,
                         session: AsyncSession, places: PlaceDirectory,
                         settings: Settings) -> None:
    region = places.find_region(message.text or "")
    if region is None:
        await message.answer(_("I do not know such a region. Please choose one of the buttons."))
        await advance(message, state, places, settings, session)
        return
    await state.update_data(region_id=region.id)
    await advance(message, state, places, settings, session)


@routes.message(RegistrationSG.district, F.text)
async def on_district_search(message: Message, state: FSMContext, places: PlaceDirectory,
                             locale: str) -> None:
    query = (message.text or "")[:60]
    data = await state.get_data()
    found, _pages = places.district_page(data["region_id"], 0, query)
    # A search that found nothing shows the whole list, so its pages must not filter.
    await state.update_data(district_query=query if found else "")
    await show_districts(message, places, data["region_id"], 0, query, locale)


@routes.message(RegistrationSG.language)
async def on_language_text(message: Message, state: FSMContext,
                           session: AsyncSession, places: PlaceDirectory,
                           settings: Settings, i18n: PoI18n) -> None:
    text = (message.text or "").casefold()
    for code, names in {"kk": ("қазақша", "kk"), "ru": ("русский", "ru"),
                        "en": ("english", "en")}.items():
        if text in names:
            await state.update_data(locale=code)
            with i18n.use_locale(code):
                await advance(message, state, places, settings, session)
            return
    await advance(message, state, places, settings, session)


@routes.message(RegistrationSG.org_name)
@routes.message(RegistrationSG.grade)
async def on_not_text(message: Message, state: FSMContext,
                      session: AsyncSession, places: PlaceDirectory,
                      settings: Settings) -> None:
    await message.answer(_("Please answer with a text message."))
    await advance(message, state, places, settings, session)


@routes.message(RegistrationSG())
async def on_need_button(message: Message, state: FSMContext,
                         session: AsyncSession, places: PlaceDirectory,
                         settings: Settings) -> None:
    await message.answer(_("Please choose one of the buttons."))
    await advance(message, state, places, settings, session)


# Before a language is chosen: every line in all three (the movement's name as the glossary
# and the centre's report write it).
GREETING = ("Сәлеметсіз бе! · Здравствуйте! · Hello!\n"
            "Мектеп Парламенті мен Студенттік Парламент боты · "
            "Бот школьного и студенческого парламента · School and Student Parliament bot")
