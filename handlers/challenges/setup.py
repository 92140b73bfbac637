"""Staff: change the audience, nominations and age categories, and the accepted content of a
draft or open challenge (from ✏️ Edit in /challenges)."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from aiogram import F
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
from bot.services import challenge_edit as edit
from bot.services import challenges as svc
from bot.services.errors import DomainError
from bot.services.numbers import as_int
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from handlers.challenges.keyboards import (
    admin_kb,
    audience_chosen,
    audience_options,
    content_kb,
    regions_kb,
    toggles_kb,
)
from handlers.challenges.manage import send_manage
from handlers.challenges.texts import audience_text, option_line
from handlers.shared.errors import error_flags
from handlers.shared.texts import error_text

# Refusals after which the flow cannot go on: the shared error handler ends it.
FINAL = frozenset({"not_found", "already_judged", "edit_closed", "options_contest_only"})

OPTION_TITLES = {"nomination": __("Nominations of No. {n}"),
                 "category": __("Age categories of No. {n}")}
ADD_PROMPTS = {
    "nomination": __("New nominations, one per line as “Kazakh | Russian | English” (Russian "
                     "and English are optional):"),
    "category": __("New age categories, one per line as “Kazakh | Russian | English” "
                   "(Russian and English are optional):"),
}


routes = Routes(__name__, flags=error_flags(clear_state=FINAL))
TEXT = F.text & ~F.text.startswith("/")


class ChallengeSetupSG(StatesGroup):
    audience = State()  # data: cid, audience
    regions = State()  # data: cid, audience
    content = State()  # data: cid, kinds
    option = State()  # data: cid, kind, option (an id to rename; 0: add)


# --- audience ------------------------------------------------------------------------------

@routes.callback_query(ChallengeAdminCD.filter(F.action == "eaud"))
async def on_audience(cb: CallbackQuery, callback_data: ChallengeAdminCD, state: FSMContext,
                      session: AsyncSession) -> None:
    challenge = await edit.editable(session, callback_data.id)
    audience = {k: list((challenge.audience or {}).get(k) or [])
                for k in ("org_types", "factions", "region_ids")}
    await state.set_state(ChallengeSetupSG.audience)
    await state.set_data({"cid": challenge.id, "audience": audience})
    await cb.message.answer(
        _("Audience of No. {n}. Who may take part? Choose organisation types and factions; "
          "nothing chosen means everyone.").format(n=challenge.id),
        reply_markup=toggles_kb("eat", audience_options(), audience_chosen(
            {"audience": audience}), _("Next »")))


@routes.callback_query(ChallengeSetupSG.audience, ChallengeAdminCD.filter(F.action == "eat"))
async def on_audience_toggle(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                             state: FSMContext) -> None:
    if callback_data.arg not in audience_options():
        return
    data = await state.get_data()
    kind, _sep, value = callback_data.arg.partition(".")
    chosen = data["audience"]["org_types" if kind == "o" else "factions"]
    if value in chosen:
        chosen.remove(value)
    else:
        chosen.append(value)
    await state.update_data(audience=data["audience"])
    await cb.message.edit_reply_markup(reply_markup=toggles_kb(
        "eat", audience_options(), audience_chosen(data), _("Next »")))


@routes.callback_query(ChallengeSetupSG.audience,
                       ChallengeAdminCD.filter(F.action == "eat_done"))
async def on_audience_next(cb: CallbackQuery, state: FSMContext, places: PlaceDirectory,
                           locale: str) -> None:
    data = await state.get_data()
    await state.set_state(ChallengeSetupSG.regions)
    await cb.message.answer(_("Which regions? Nothing chosen means all regions."),
                            reply_markup=regions_kb("ert", places, locale,
                                                    data["audience"]["region_ids"], _("💾 Save")))


@routes.callback_query(ChallengeSetupSG.regions, ChallengeAdminCD.filter(F.action == "ert"))
async def on_region_toggle(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                           state: FSMContext, places: PlaceDirectory, locale: str) -> None:
    region = places.region_from(callback_data.arg)
    if region is None:
        return
    data = await state.get_data()
    chosen = data["audience"]["region_ids"]
    if region.id in chosen:
        chosen.remove(region.id)
    else:
        chosen.append(region.id)
    await state.update_data(audience=data["audience"])
    await cb.message.edit_reply_markup(reply_markup=regions_kb("ert", places, locale, chosen,
                                                               _("💾 Save")))


@routes.callback_query(ChallengeSetupSG.regions, ChallengeAdminCD.filter(F.action == "ert_done"))
async def on_audience_save(cb: CallbackQuery, state: FSMContext, session: AsyncSession,
                           places: PlaceDirectory, settings: Settings,
                           clock: Callable[[], datetime], user: UserInfo, locale: str) -> None:
    data = await state.get_data()
    cid = data["cid"]
    changed = await edit.set_audience(session, cid, data["audience"],
                                      [r.id for r in places.regions], user)
    await state.clear()
    challenge = await svc.get_challenge(session, cid)
    if not changed:
        await cb.message.answer(_("Nothing changed."))
    else:
        markup = None
        text = _("Saved. Audience: {audience}.").format(
            audience=audience_text(challenge.audience, places, locale))
        if edit.may_announce_again(challenge, clock()):
            text += "\n" + _("Those who joined before keep taking part. People newly in the "
                             "audience have not had the announcement yet.")
            markup = admin_kb([(_("📣 Announce to them"), "ean", cid, "")])
        await cb.message.answer(text, reply_markup=markup)
    await send_manage(cb.message, session, places, settings, locale, cid)


@routes.callback_query(ChallengeAdminCD.filter(F.action == "ean"), flags=error_flags())
async def on_announce_newcomers(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                                session: AsyncSession, challenge_notices: ChallengeNotices,
                                clock: Callable[[], datetime], user: UserInfo) -> None:
    queued = await edit.announce_to_newcomers(session, challenge_notices, callback_data.id,
                                              user, clock())
    if queued:
        await cb.message.answer(ngettext("The announcement is on its way to {n} more person.",
                                         "The announcement is on its way to {n} more people.",
                                         queued).format(n=queued))
    else:
        await cb.message.answer(_("Everyone in the audience has had the announcement already."))


# --- accepted content ----------------------------------------------------------------------

@routes.callback_query(ChallengeAdminCD.filter(F.action == "eck"))
async def on_content(cb: CallbackQuery, callback_data: ChallengeAdminCD, state: FSMContext,
                     session: AsyncSession) -> None:
    challenge = await edit.editable(session, callback_data.id)
    kinds = list(challenge.content_kinds or [])
    await state.set_state(ChallengeSetupSG.content)
    await state.set_data({"cid": challenge.id, "kinds": kinds})
    text = _("Which content is accepted?")
    if challenge.kind == "action":
        text += " " + _("For an action you may choose nothing: joining is the participation.")
    await cb.message.answer(text, reply_markup=content_kb("ect", kinds, _("💾 Save")))


@routes.callback_query(ChallengeSetupSG.content, ChallengeAdminCD.filter(F.action == "ect"))
async def on_content_toggle(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                            state: FSMContext) -> None:
    if callback_data.arg not in svc.CONTENT_KINDS:
        return
    kinds = (await state.get_data())["kinds"]
    if callback_data.arg in kinds:
        kinds.remove(callback_data.arg)
    else:
        kinds.append(callback_data.arg)
    await state.update_data(kinds=kinds)
    await cb.message.edit_reply_markup(reply_markup=content_kb("ect", kinds, _("💾 Save")))


@routes.callback_query(ChallengeSetupSG.content, ChallengeAdminCD.filter(F.action == "ect_done"))
async def on_content_save(cb: CallbackQuery, state: FSMContext, session: AsyncSession,
                          places: PlaceDirectory, settings: Settings, user: UserInfo,
                          locale: str) -> None:
    data = await state.get_data()
    try:
        changed = await edit.set_content_kinds(session, data["cid"], data["kinds"], user)
    except DomainError as exc:
        if exc.code != "need_kinds":
            raise  # answered by the shared error handler, which ends the flow on FINAL
        # a pop-up over the toggles, which stay, as in the wizard (the flag is per handler)
        await cb.answer(error_text(exc), show_alert=True)
        return
    await state.clear()
    await cb.message.answer(_("Saved.") if changed else _("Nothing changed."))
    await send_manage(cb.message, session, places, settings, locale, data["cid"])


# --- nominations and age categories ---------------------------------------------------------

async def send_options(message: Message, session: AsyncSession, locale: str, cid: int,
                       kind: str) -> None:
    options = await edit.options_of(session, cid, kind)
    usage = await edit.option_usage(session, cid)
    lines = [f"<b>{OPTION_TITLES[kind].format(n=cid)}</b>"]
    lines += [_("{i}. {names} — entries: {n}").format(i=i, names=html.escape(option_line(o)),
                                                      n=usage.get(o.id, 0))
              for i, o in enumerate(options, start=1)] or ["—"]
    lines += ["", _("An option that entries use can be renamed, not removed.")]
    rows = []
    for o in options:
        name = o.name(locale)[:24]
        rows += [(_("✏️ {name}").format(name=name), "oren", cid, str(o.id)),
                 (_("🗑 {name}").format(name=name), "odel", cid, str(o.id))]
    rows += [(_("➕ Add"), "oadd", cid, kind), (_("« Back"), "man", cid, "")]
    await message.answer("\n".join(lines), reply_markup=admin_kb(rows, columns=2))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "eopt"))
async def on_options(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                     session: AsyncSession, locale: str) -> None:
    await edit.options_editable(session, callback_data.id, callback_data.arg)
    await send_options(cb.message, session, locale, callback_data.id, callback_data.arg)


@routes.callback_query(ChallengeAdminCD.filter(F.action == "oadd"))
async def on_option_add(cb: CallbackQuery, callback_data: ChallengeAdminCD, state: FSMContext,
                        session: AsyncSession) -> None:
    await edit.options_editable(session, callback_data.id, callback_data.arg)
    await state.set_state(ChallengeSetupSG.option)
    await state.set_data({"cid": callback_data.id, "kind": callback_data.arg, "option": 0})
    await cb.message.answer(str(ADD_PROMPTS[callback_data.arg]))


def option_id(callback_data: ChallengeAdminCD) -> int:
    found = as_int(callback_data.arg)
    if found is None:  # a stale or forged button
        raise DomainError("not_found")
    return found


@routes.callback_query(ChallengeAdminCD.filter(F.action == "oren"))
async def on_option_rename(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                           state: FSMContext, session: AsyncSession) -> None:
    option = await edit.get_option(session, callback_data.id, option_id(callback_data))
    await edit.options_editable(session, callback_data.id, option.kind)
    await state.set_state(ChallengeSetupSG.option)
    await state.set_data({"cid": callback_data.id, "kind": option.kind, "option": option.id})
    await cb.message.answer(_("The new name as “Kazakh | Russian | English” (Russian and "
                              "English are optional). Now:\n<code>{names}</code>").format(
        names=html.escape(option_line(option))))


@routes.message(ChallengeSetupSG.option, TEXT)
async def on_option_text(message: Message, state: FSMContext, session: AsyncSession,
                         user: UserInfo, locale: str) -> None:
    data = await state.get_data()
    if data["option"]:
        await edit.rename_option(session, data["cid"], data["option"], message.text, user)
    else:
        await edit.add_options(session, data["cid"], data["kind"], message.text, user)
    await state.clear()
    await message.answer(_("Saved."))
    await send_options(message, session, locale, data["cid"], data["kind"])


@routes.callback_query(ChallengeAdminCD.filter(F.action == "odel"))
async def on_option_remove(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                           session: AsyncSession, user: UserInfo, locale: str) -> None:
    option = await edit.remove_option(session, callback_data.id, option_id(callback_data),
                                      user)
    kind, name = option.kind, option.name(locale)  # the row is gone after the commit
    await cb.message.answer(_("Removed: “{name}”.").format(name=html.escape(name)))
    await send_options(cb.message, session, locale, callback_data.id, kind)


# --- anything else while a step waits ---------------------------------------------------------

@routes.message(ChallengeSetupSG.option)
async def on_need_text(message: Message) -> None:
    await message.answer(_("Please answer with a text message. /cancel to stop."))


@routes.message(ChallengeSetupSG())
async def on_need_buttons(message: Message) -> None:
    await message.answer(_("Please use the buttons above. /cancel to stop."))
