"""Staff: the /newchallenge wizard, from the kind of challenge to its preview, and publishing
(a draft, the results): what reaches the audience. Managing the rest: manage.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ChallengeAdminCD
from bot.config import Settings
from bot.notices.challenges import ChallengeNotices
from bot.routing import Routes
from bot.services import challenges as svc
from bot.services.errors import DomainError
from bot.services.numbers import typed_int
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from handlers.challenges.keyboards import (
    admin_kb,
    audience_chosen,
    audience_options,
    content_kb,
    regions_kb,
    skip_kb,
    toggles_kb,
)
from handlers.challenges.texts import KIND, TIER_OPTIONS, preview_text
from handlers.shared.errors import error_flags
from handlers.shared.texts import error_text

routes = Routes(__name__)
TEXT = F.text & ~F.text.startswith("/")


class ChallengeWizardSG(StatesGroup):
    kind = State()
    text = State()  # data["step"] says which title or description
    audience = State()
    regions = State()
    starts = State()
    deadline = State()
    options = State()  # data["step"]: nominations | categories
    tiers = State()
    content = State()
    max_submissions = State()
    cover = State()
    preview = State()


class ChallengeEditSG(StatesGroup):
    value = State()  # data: cid, field
    winners = State()  # data: cid


TEXT_STEPS = ("title_kk", "title_ru", "title_en", "description_kk", "description_ru",
              "description_en")
SKIPPABLE = {"title_en", "description_en"}
PROMPTS = {
    "title_kk": __("Title in Kazakh:"),
    "title_ru": __("Title in Russian:"),
    "title_en": __("Title in English (or press Skip: Russian is shown instead):"),
    "description_kk": __("Description in Kazakh (rules, what to send):"),
    "description_ru": __("Description in Russian:"),
    "description_en": __("Description in English (or press Skip):"),
    "max_submissions": __("How many entries may one person send? Type a number from 1 to 50:"),
}


# --- the wizard -----------------------------------------------------------------------------

@routes.message(Command("newchallenge"))
async def cmd_new(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(ChallengeWizardSG.kind)
    await state.update_data(w={"audience": {"org_types": [], "factions": [], "region_ids": []},
                               "content_kinds": []})
    await message.answer(_("What are you creating?"), reply_markup=admin_kb(
        [(str(KIND[k]), "kind", 0, k) for k in svc.KINDS], columns=3))


@routes.callback_query(ChallengeWizardSG.kind, ChallengeAdminCD.filter(F.action == "kind"))
async def on_kind(cb: CallbackQuery, callback_data: ChallengeAdminCD, state: FSMContext) -> None:
    if callback_data.arg not in svc.KINDS:
        return
    w = (await state.get_data())["w"]
    w["kind"] = callback_data.arg
    if callback_data.arg == "action":
        w["max_submissions"] = 1
    await state.update_data(w=w)
    await ask_text(cb.message, state, "title_kk")


async def ask_text(message: Message, state: FSMContext, step: str) -> None:
    await state.set_state(ChallengeWizardSG.text)
    await state.update_data(step=step)
    await message.answer(str(PROMPTS[step]), reply_markup=skip_kb() if step in SKIPPABLE
                         else None)


async def after_text(message: Message, state: FSMContext, step: str) -> None:
    n = TEXT_STEPS.index(step)
    if n + 1 < len(TEXT_STEPS):
        await ask_text(message, state, TEXT_STEPS[n + 1])
    else:
        await ask_audience(message, state, edit=False)


@routes.message(ChallengeWizardSG.text, TEXT)
async def on_text(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    step = data["step"]
    data["w"][step] = svc.check_text(step, message.text)
    await state.update_data(w=data["w"])
    await after_text(message, state, step)


@routes.callback_query(ChallengeWizardSG.text, ChallengeAdminCD.filter(F.action == "skip"))
async def on_text_skip(cb: CallbackQuery, state: FSMContext) -> None:
    step = (await state.get_data())["step"]
    if step not in SKIPPABLE:
        await cb.answer(_("This one is required."), show_alert=True)
        return
    await after_text(cb.message, state, step)


async def ask_audience(message: Message, state: FSMContext, edit: bool) -> None:
    await state.set_state(ChallengeWizardSG.audience)
    w = (await state.get_data())["w"]
    markup = toggles_kb("aud", audience_options(), audience_chosen(w), _("Next »"))
    if edit:
        await message.edit_reply_markup(reply_markup=markup)
    else:
        await message.answer(_("Who may take part? Choose organisation types and factions; "
                               "nothing chosen means everyone."), reply_markup=markup)


@routes.callback_query(ChallengeWizardSG.audience, ChallengeAdminCD.filter(F.action == "aud"))
async def on_audience_toggle(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                             state: FSMContext) -> None:
    w = (await state.get_data())["w"]
    if callback_data.arg not in audience_options():
        return  # an old or forged button: only the listed types and factions are stored
    kind, _sep, value = callback_data.arg.partition(".")
    chosen = w["audience"]["org_types" if kind == "o" else "factions"]
    if value in chosen:
        chosen.remove(value)
    else:
        chosen.append(value)
    await state.update_data(w=w)
    await ask_audience(cb.message, state, edit=True)


async def ask_regions(message: Message, state: FSMContext, places: PlaceDirectory,
                      locale: str, edit: bool) -> None:
    await state.set_state(ChallengeWizardSG.regions)
    w = (await state.get_data())["w"]
    markup = regions_kb("reg", places, locale, w["audience"]["region_ids"], _("Next »"))
    if edit:
        await message.edit_reply_markup(reply_markup=markup)
    else:
        await message.answer(_("Which regions? Nothing chosen means all regions."),
                             reply_markup=markup)


@routes.callback_query(ChallengeWizardSG.audience,
                       ChallengeAdminCD.filter(F.action == "aud_done"))
async def on_audience_done(cb: CallbackQuery, state: FSMContext, places: PlaceDirectory,
                           locale: str) -> None:
    await ask_regions(cb.message, state, places, locale, edit=False)


@routes.callback_query(ChallengeWizardSG.regions, ChallengeAdminCD.filter(F.action == "reg"))
async def on_region_toggle(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                           state: FSMContext, places: PlaceDirectory, locale: str) -> None:
    region = places.region_from(callback_data.arg)
    if region is None:
        return  # an old or forged button: only known regions are stored
    w = (await state.get_data())["w"]
    chosen = w["audience"]["region_ids"]
    rid = region.id
    if rid in chosen:
        chosen.remove(rid)
    else:
        chosen.append(rid)
    await state.update_data(w=w)
    await ask_regions(cb.message, state, places, locale, edit=True)


@routes.callback_query(ChallengeWizardSG.regions, ChallengeAdminCD.filter(F.action == "reg_done"))
async def on_regions_done(cb: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(ChallengeWizardSG.starts)
    await cb.message.answer(_("When does it start? Type the date and time in Almaty time, e.g. "
                              "25.11.2026 10:00, or press Now."),
                            reply_markup=admin_kb([(_("Now"), "now", 0, "")]))


@routes.callback_query(ChallengeWizardSG.starts, ChallengeAdminCD.filter(F.action == "now"))
async def on_start_now(cb: CallbackQuery, state: FSMContext,
                       clock: Callable[[], datetime]) -> None:
    await set_start(cb.message, state, clock().isoformat())


@routes.message(ChallengeWizardSG.starts, TEXT)
async def on_start_text(message: Message, state: FSMContext, settings: Settings) -> None:
    value = svc.parse_local_time(message.text, settings.tz)
    await set_start(message, state, value.isoformat())


async def set_start(message: Message, state: FSMContext, value: str) -> None:
    w = (await state.get_data())["w"]
    w["starts_at"] = value
    await state.update_data(w=w)
    await state.set_state(ChallengeWizardSG.deadline)
    await message.answer(_("The deadline, in Almaty time (e.g. 30.11.2026 18:00):"))


@routes.message(ChallengeWizardSG.deadline, TEXT)
async def on_deadline(message: Message, state: FSMContext, settings: Settings,
                      clock: Callable[[], datetime]) -> None:
    w = (await state.get_data())["w"]
    deadline = svc.parse_local_time(message.text, settings.tz, end_of_day=True)
    svc.check_schedule(datetime.fromisoformat(w["starts_at"]), deadline, clock())
    w["deadline_at"] = deadline.isoformat()
    await state.update_data(w=w)
    if w["kind"] == "contest":
        await ask_options(message, state, "nominations")
    else:
        await ask_content(message, state, edit=False)


async def ask_options(message: Message, state: FSMContext, step: str) -> None:
    await state.set_state(ChallengeWizardSG.options)
    await state.update_data(step=step)
    text = (_("Nominations, one per line as “Kazakh | Russian | English” (Russian and English "
              "are optional), or press Skip:") if step == "nominations" else
            _("Age categories, one per line as “Kazakh | Russian | English”, or press Skip:"))
    await message.answer(text, reply_markup=skip_kb())


async def after_options(message: Message, state: FSMContext, step: str) -> None:
    if step == "nominations":
        await ask_options(message, state, "categories")
    else:
        await ask_tiers(message, state, edit=False)


async def ask_tiers(message: Message, state: FSMContext, edit: bool) -> None:
    await state.set_state(ChallengeWizardSG.tiers)
    w = (await state.get_data())["w"]
    markup = toggles_kb("tier", {k: str(v) for k, v in TIER_OPTIONS.items()},
                        w.get("review_tiers") or [], _("Next »"), columns=1)
    if edit:
        await message.edit_reply_markup(reply_markup=markup)
    else:
        await message.answer(_("Review tiers before the jury (none: one review by any "
                               "coordinator of the area):"), reply_markup=markup)


@routes.callback_query(ChallengeWizardSG.tiers, ChallengeAdminCD.filter(F.action == "tier"))
async def on_tier_toggle(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                         state: FSMContext) -> None:
    if callback_data.arg not in TIER_OPTIONS:
        return
    w = (await state.get_data())["w"]
    tiers = w.setdefault("review_tiers", [])
    if callback_data.arg in tiers:
        tiers.remove(callback_data.arg)
    else:
        tiers.append(callback_data.arg)
    await state.update_data(w=w)
    await ask_tiers(cb.message, state, edit=True)


@routes.callback_query(ChallengeWizardSG.tiers, ChallengeAdminCD.filter(F.action == "tier_done"))
async def on_tiers_done(cb: CallbackQuery, state: FSMContext) -> None:
    await ask_content(cb.message, state, edit=False)


@routes.message(ChallengeWizardSG.options, TEXT)
async def on_options(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    data["w"][data["step"]] = svc.parse_options(message.text)
    await state.update_data(w=data["w"])
    await after_options(message, state, data["step"])


@routes.callback_query(ChallengeWizardSG.options, ChallengeAdminCD.filter(F.action == "skip"))
async def on_options_skip(cb: CallbackQuery, state: FSMContext) -> None:
    await after_options(cb.message, state, (await state.get_data())["step"])


async def ask_content(message: Message, state: FSMContext, edit: bool) -> None:
    await state.set_state(ChallengeWizardSG.content)
    w = (await state.get_data())["w"]
    markup = content_kb("ck", w["content_kinds"], _("Next »"))
    if edit:
        await message.edit_reply_markup(reply_markup=markup)
        return
    text = _("Which content is accepted?")
    if w["kind"] == "action":
        text += " " + _("For an action you may choose nothing: joining is the participation.")
    await message.answer(text, reply_markup=markup)


@routes.callback_query(ChallengeWizardSG.content, ChallengeAdminCD.filter(F.action == "ck"))
async def on_content_toggle(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                            state: FSMContext) -> None:
    if callback_data.arg not in svc.CONTENT_KINDS:
        return
    w = (await state.get_data())["w"]
    kinds = w["content_kinds"]
    if callback_data.arg in kinds:
        kinds.remove(callback_data.arg)
    else:
        kinds.append(callback_data.arg)
    await state.update_data(w=w)
    await ask_content(cb.message, state, edit=True)


@routes.callback_query(ChallengeWizardSG.content, ChallengeAdminCD.filter(F.action == "ck_done"),
                       flags=error_flags(alert=True))
async def on_content_done(cb: CallbackQuery, state: FSMContext) -> None:
    w = (await state.get_data())["w"]
    if not w["content_kinds"] and w["kind"] != "action":
        raise DomainError("need_kinds")
    if w["content_kinds"]:
        await state.set_state(ChallengeWizardSG.max_submissions)
        await cb.message.answer(str(PROMPTS["max_submissions"]))
    else:
        await ask_cover(cb.message, state)


@routes.message(ChallengeWizardSG.max_submissions, TEXT)
async def on_max(message: Message, state: FSMContext) -> None:
    value = typed_int(message.text)
    if value is None or not 1 <= value <= svc.MAX_SUBMISSIONS_LIMIT:
        raise DomainError("bad_number", max=svc.MAX_SUBMISSIONS_LIMIT)
    w = (await state.get_data())["w"]
    w["max_submissions"] = value
    await state.update_data(w=w)
    await ask_cover(message, state)


async def ask_cover(message: Message, state: FSMContext) -> None:
    await state.set_state(ChallengeWizardSG.cover)
    await message.answer(_("Send a cover image, or press Skip:"), reply_markup=skip_kb())


@routes.message(ChallengeWizardSG.cover, F.photo)
async def on_cover(message: Message, state: FSMContext, places: PlaceDirectory,
                   settings: Settings, clock: Callable[[], datetime], locale: str) -> None:
    w = (await state.get_data())["w"]
    w["cover_file_id"] = message.photo[-1].file_id
    await state.update_data(w=w)
    await show_preview(message, state, places, settings, clock, locale)


@routes.callback_query(ChallengeWizardSG.cover, ChallengeAdminCD.filter(F.action == "skip"))
async def on_cover_skip(cb: CallbackQuery, state: FSMContext, places: PlaceDirectory,
                        settings: Settings, clock: Callable[[], datetime], locale: str) -> None:
    await show_preview(cb.message, state, places, settings, clock, locale)


async def show_preview(message: Message, state: FSMContext, places: PlaceDirectory,
                       settings: Settings, clock: Callable[[], datetime], locale: str) -> None:
    await state.set_state(ChallengeWizardSG.preview)
    w = (await state.get_data())["w"]
    await message.answer(preview_text(w, places, settings.tz, clock(), locale),
                         reply_markup=admin_kb(
        [(_("🚀 Publish"), "wpub", 0, ""), (_("💾 Save as draft"), "wdraft", 0, ""),
         (_("✖️ Cancel"), "wcancel", 0, "")], columns=2))


@routes.callback_query(ChallengeWizardSG.preview,
                       ChallengeAdminCD.filter(F.action.in_({"wpub", "wdraft"})))
async def on_preview_done(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                          state: FSMContext, session: AsyncSession,
                          challenge_notices: ChallengeNotices, clock: Callable[[], datetime],
                          user: UserInfo, locale: str) -> None:
    w = (await state.get_data())["w"]
    try:
        challenge = await svc.create_challenge(session, w, user.id, clock())
        if callback_data.action == "wpub":
            await svc.publish(session, challenge_notices, challenge.id, user, clock())
    except DomainError as exc:
        # The one refusal answered here: a deadline that passed while the preview was open
        # takes the flow back to that step, which the shared error handler cannot do.
        if exc.code not in ("deadline_past", "deadline_before_start"):
            raise
        await cb.message.answer(error_text(exc))
        await state.set_state(ChallengeWizardSG.deadline)
        await cb.message.answer(_("The deadline, in Almaty time (e.g. 30.11.2026 18:00):"))
        return
    await state.clear()
    if callback_data.action == "wpub":
        text = _("Published: No. {n}. The audience is being notified.")
    else:
        text = _("Saved as draft No. {n}. Publish it from /challenges.")
    await cb.message.answer(text.format(n=challenge.id),
                            reply_markup=admin_kb([(_("Open"), "man", challenge.id, "")]))


@routes.callback_query(ChallengeWizardSG.preview, ChallengeAdminCD.filter(F.action == "wcancel"))
async def on_preview_cancel(cb: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await cb.message.answer(_("Cancelled. Nothing was saved."))


@routes.message(ChallengeWizardSG.text)
@routes.message(ChallengeWizardSG.starts)
@routes.message(ChallengeWizardSG.deadline)
@routes.message(ChallengeWizardSG.options)
@routes.message(ChallengeWizardSG.max_submissions)
async def on_need_text(message: Message) -> None:
    await message.answer(_("Please answer with a text message. /cancel to stop."))


@routes.message(ChallengeWizardSG.cover)
async def on_need_photo(message: Message) -> None:
    await message.answer(_("Send a photo, or press Skip. /cancel to stop."))


@routes.message(ChallengeWizardSG())
async def on_need_buttons(message: Message) -> None:
    await message.answer(_("Please use the buttons above. /cancel to stop."))


# --- publishing: a draft from /challenges, and the results -----------------------------------

@routes.callback_query(ChallengeAdminCD.filter(F.action == "pub"))
async def on_publish(cb: CallbackQuery, callback_data: ChallengeAdminCD, session: AsyncSession,
                     challenge_notices: ChallengeNotices, clock: Callable[[], datetime],
                     user: UserInfo) -> None:
    await svc.publish(session, challenge_notices, callback_data.id, user, clock())
    await cb.message.answer(_("Published: No. {n}. The audience is being notified.").format(
        n=callback_data.id))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "res"))
async def on_results(cb: CallbackQuery, callback_data: ChallengeAdminCD, session: AsyncSession,
                     challenge_notices: ChallengeNotices, clock: Callable[[], datetime],
                     user: UserInfo) -> None:
    n = await svc.publish_results(session, challenge_notices, callback_data.id, user, clock())
    await cb.message.answer(ngettext("Results are published; {n} participant will get a message.",
                                     "Results are published; {n} participants will get a message.",
                                     n).format(n=n))
