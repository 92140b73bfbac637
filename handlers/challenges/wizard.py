"""Staff: the /newchallenge wizard, /challenges management, winners, results, export."""

from __future__ import annotations

import asyncio
import html
from datetime import datetime
from typing import Any

from aiogram import F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.app import App
from bot.callbacks import ChallengeAdminCD
from bot.i18n import fmt_dt
from bot.middlewares import HEAVY_DB
from bot.routing import Routes
from bot.services import challenges as svc
from bot.services import contest_xlsx
from bot.services.challenge_edit import editable
from bot.services.errors import DomainError
from bot.services.numbers import typed_int
from bot.services.text import TEXT_LIMIT, seen_length, short_html, take_lines
from bot.services.users import UserInfo
from db.models.challenges import Challenge
from handlers.challenges.browse import (
    CONTENT,
    KIND,
    PLACE,
    STATUS,
    SUB_STATUS,
    card_text,
    kinds_text,
    say,
)
from handlers.challenges.keyboards import admin_kb, manage_kb, toggles_kb
from handlers.shared.texts import NAME_SHOWN, ORG_SHOWN, error_text, more_text

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


def skip_kb() -> Any:
    return admin_kb([(_("Skip »"), "skip", 0, "")])


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


async def after_text(message: Message, state: FSMContext, app: App, step: str) -> None:
    n = TEXT_STEPS.index(step)
    if n + 1 < len(TEXT_STEPS):
        await ask_text(message, state, TEXT_STEPS[n + 1])
    else:
        await ask_audience(message, state, edit=False)


@routes.message(ChallengeWizardSG.text, TEXT)
async def on_text(message: Message, state: FSMContext, app: App) -> None:
    data = await state.get_data()
    step = data["step"]
    try:
        value = svc.check_text(step, message.text)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    data["w"][step] = value
    await state.update_data(w=data["w"])
    await after_text(message, state, app, step)


@routes.callback_query(ChallengeWizardSG.text, ChallengeAdminCD.filter(F.action == "skip"))
async def on_text_skip(cb: CallbackQuery, state: FSMContext, app: App) -> None:
    step = (await state.get_data())["step"]
    if step not in SKIPPABLE:
        await cb.answer(_("This one is required."), show_alert=True)
        return
    await after_text(cb.message, state, app, step)


def audience_options() -> dict[str, str]:
    options = {f"o.{k}": str(v) for k, v in labels.ORG_TYPE.items()}
    options.update({f"f.{k}": str(v) for k, v in labels.FACTION.items()})
    return options


def audience_chosen(w: dict[str, Any]) -> list[str]:
    aud = w["audience"]
    return [f"o.{k}" for k in aud["org_types"]] + [f"f.{k}" for k in aud["factions"]]


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


async def ask_regions(message: Message, state: FSMContext, app: App, locale: str,
                      edit: bool) -> None:
    await state.set_state(ChallengeWizardSG.regions)
    w = (await state.get_data())["w"]
    options = {str(r.id): r.name(locale) for r in app.places.regions}
    markup = toggles_kb("reg", options, [str(i) for i in w["audience"]["region_ids"]],
                        _("Next »"))
    if edit:
        await message.edit_reply_markup(reply_markup=markup)
    else:
        await message.answer(_("Which regions? Nothing chosen means all regions."),
                             reply_markup=markup)


@routes.callback_query(ChallengeWizardSG.audience,
                       ChallengeAdminCD.filter(F.action == "aud_done"))
async def on_audience_done(cb: CallbackQuery, state: FSMContext, app: App, locale: str) -> None:
    await ask_regions(cb.message, state, app, locale, edit=False)


@routes.callback_query(ChallengeWizardSG.regions, ChallengeAdminCD.filter(F.action == "reg"))
async def on_region_toggle(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                           state: FSMContext, app: App, locale: str) -> None:
    region = app.places.region_from(callback_data.arg)
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
    await ask_regions(cb.message, state, app, locale, edit=True)


@routes.callback_query(ChallengeWizardSG.regions, ChallengeAdminCD.filter(F.action == "reg_done"))
async def on_regions_done(cb: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(ChallengeWizardSG.starts)
    await cb.message.answer(_("When does it start? Type the date and time in Almaty time, e.g. "
                              "25.11.2026 10:00, or press Now."),
                            reply_markup=admin_kb([(_("Now"), "now", 0, "")]))


@routes.callback_query(ChallengeWizardSG.starts, ChallengeAdminCD.filter(F.action == "now"))
async def on_start_now(cb: CallbackQuery, state: FSMContext, app: App) -> None:
    await set_start(cb.message, state, app.now().isoformat())


@routes.message(ChallengeWizardSG.starts, TEXT)
async def on_start_text(message: Message, state: FSMContext, app: App) -> None:
    try:
        value = svc.parse_local_time(message.text, app.settings.tz)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    await set_start(message, state, value.isoformat())


async def set_start(message: Message, state: FSMContext, value: str) -> None:
    w = (await state.get_data())["w"]
    w["starts_at"] = value
    await state.update_data(w=w)
    await state.set_state(ChallengeWizardSG.deadline)
    await message.answer(_("The deadline, in Almaty time (e.g. 30.11.2026 18:00):"))


@routes.message(ChallengeWizardSG.deadline, TEXT)
async def on_deadline(message: Message, state: FSMContext, app: App) -> None:
    w = (await state.get_data())["w"]
    try:
        deadline = svc.parse_local_time(message.text, app.settings.tz, end_of_day=True)
        svc.check_schedule(datetime.fromisoformat(w["starts_at"]), deadline, app.now())
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
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


TIER_OPTIONS = {"district": __("District pre-screening"), "regional": __("Regional shortlist")}


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
    try:
        data["w"][data["step"]] = svc.parse_options(message.text)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    await state.update_data(w=data["w"])
    await after_options(message, state, data["step"])


@routes.callback_query(ChallengeWizardSG.options, ChallengeAdminCD.filter(F.action == "skip"))
async def on_options_skip(cb: CallbackQuery, state: FSMContext) -> None:
    await after_options(cb.message, state, (await state.get_data())["step"])


async def ask_content(message: Message, state: FSMContext, edit: bool) -> None:
    await state.set_state(ChallengeWizardSG.content)
    w = (await state.get_data())["w"]
    options = {k: str(CONTENT[k]) for k in svc.CONTENT_KINDS}
    markup = toggles_kb("ck", options, w["content_kinds"], _("Next »"), columns=3)
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


@routes.callback_query(ChallengeWizardSG.content, ChallengeAdminCD.filter(F.action == "ck_done"))
async def on_content_done(cb: CallbackQuery, state: FSMContext) -> None:
    w = (await state.get_data())["w"]
    if not w["content_kinds"] and w["kind"] != "action":
        await cb.answer(error_text(DomainError("need_kinds")), show_alert=True)
        return
    if w["content_kinds"]:
        await state.set_state(ChallengeWizardSG.max_submissions)
        await cb.message.answer(str(PROMPTS["max_submissions"]))
    else:
        await ask_cover(cb.message, state)


@routes.message(ChallengeWizardSG.max_submissions, TEXT)
async def on_max(message: Message, state: FSMContext) -> None:
    try:
        value = typed_int(message.text)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    if value is None or not 1 <= value <= svc.MAX_SUBMISSIONS_LIMIT:
        await message.answer(error_text(DomainError("bad_number", max=svc.MAX_SUBMISSIONS_LIMIT)))
        return
    w = (await state.get_data())["w"]
    w["max_submissions"] = value
    await state.update_data(w=w)
    await ask_cover(message, state)


async def ask_cover(message: Message, state: FSMContext) -> None:
    await state.set_state(ChallengeWizardSG.cover)
    await message.answer(_("Send a cover image, or press Skip:"), reply_markup=skip_kb())


@routes.message(ChallengeWizardSG.cover, F.photo)
async def on_cover(message: Message, state: FSMContext, app: App, locale: str) -> None:
    w = (await state.get_data())["w"]
    w["cover_file_id"] = message.photo[-1].file_id
    await state.update_data(w=w)
    await show_preview(message, state, app, locale)


@routes.callback_query(ChallengeWizardSG.cover, ChallengeAdminCD.filter(F.action == "skip"))
async def on_cover_skip(cb: CallbackQuery, state: FSMContext, app: App, locale: str) -> None:
    await show_preview(cb.message, state, app, locale)


class _Option:
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def name(self, locale: str) -> str:
        return self.names.get(locale) or self.names.get("ru") or self.names["kk"]


def preview_challenge(w: dict[str, Any]) -> Challenge:
    return Challenge(
        kind=w["kind"], status="draft", title_kk=w["title_kk"], title_ru=w.get("title_ru"),
        title_en=w.get("title_en"), description_kk=w["description_kk"],
        description_ru=w.get("description_ru"), description_en=w.get("description_en"),
        audience=w["audience"], content_kinds=w["content_kinds"],
        max_submissions=w.get("max_submissions") or 1, cover_file_id=w.get("cover_file_id"),
        starts_at=datetime.fromisoformat(w["starts_at"]),
        deadline_at=datetime.fromisoformat(w["deadline_at"]))


def audience_text(audience: dict[str, list], app: App, locale: str) -> str:
    parts = [", ".join(str(labels.ORG_TYPE[k]) for k in audience.get("org_types") or []),
             ", ".join(str(labels.FACTION[k]) for k in audience.get("factions") or []),
             ", ".join(html.escape(app.places.region(r).name(locale))
                       for r in audience.get("region_ids") or [] if app.places.region(r))]
    return "; ".join(p for p in parts if p) or _("everyone")


async def show_preview(message: Message, state: FSMContext, app: App, locale: str) -> None:
    await state.set_state(ChallengeWizardSG.preview)
    w = (await state.get_data())["w"]
    challenge = preview_challenge(w)
    text = card_text(challenge, [_Option(o) for o in w.get("nominations") or []],
                     [_Option(o) for o in w.get("categories") or []], locale, app)
    text += "\n\n" + _("Start: {start}\nAudience: {audience}").format(
        start=fmt_dt(challenge.starts_at, locale, app.settings.tz),
        audience=audience_text(w["audience"], app, locale))
    if w.get("review_tiers"):
        text += "\n" + _("Review tiers: {tiers}").format(tiers=", ".join(
            str(TIER_OPTIONS[t]) for t in svc.TIERS if t in w["review_tiers"]))
    await message.answer(_("Preview:") + "\n\n" + text, reply_markup=admin_kb(
        [(_("🚀 Publish"), "wpub", 0, ""), (_("💾 Save as draft"), "wdraft", 0, ""),
         (_("✖️ Cancel"), "wcancel", 0, "")], columns=2))


@routes.callback_query(ChallengeWizardSG.preview,
                       ChallengeAdminCD.filter(F.action.in_({"wpub", "wdraft"})))
async def on_preview_done(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                          state: FSMContext, session: AsyncSession, app: App,
                          user: UserInfo, locale: str) -> None:
    w = (await state.get_data())["w"]
    try:
        challenge = await svc.create_challenge(session, w, user.id, app.now())
        if callback_data.action == "wpub":
            await svc.publish(session, app, challenge.id, user, app.now())
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        if exc.code in ("deadline_past", "deadline_before_start"):
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


# --- management -----------------------------------------------------------------------------

async def send_staff_list(message: Message, session: AsyncSession, app: App,
                          locale: str) -> None:
    rows = await svc.staff_list(session)
    if not rows:
        await message.answer(_("No challenges yet. Create one with /newchallenge."))
        return
    lines = [_("All challenges (participants / entries):")]
    buttons = []
    for challenge, participants, entries in rows[:40]:
        title = challenge.text("title", locale)
        number = _("No. {n}").format(n=challenge.id)
        lines.append(f"{number} · {KIND[challenge.kind]} · {STATUS[challenge.status]}"
                     f" · {html.escape(title[:50])} · {participants} / {entries}")
        buttons.append((f"{number} · {title[:30]}", "man", challenge.id, ""))
    await message.answer("\n".join(lines), reply_markup=admin_kb(buttons, columns=2))


def counts_text(c: dict[str, Any], nominations: list, categories: list, app: App,
                locale: str) -> str:
    names = {o.id: o.name(locale) for o in (*nominations, *categories)}
    by_status = ", ".join(f"{SUB_STATUS.get(k, k)}: {v}" for k, v in c["by_status"].items())
    lines = [_("Participants: {n}").format(n=c["participants"]),
             _("Entries by status: {items}").format(items=by_status or "—")]
    for title, key in ((_("By nomination"), "by_nomination"), (_("By age category"),
                                                                "by_category")):
        items = [f"{html.escape(names.get(k, '—'))}: {v}" for k, v in c[key].items() if k]
        if items:
            lines.append(f"{title}: " + ", ".join(items))
    regions = [f"{html.escape(region.name(locale)) if region else '—'}: {v}"
               for k, v in c["by_region"].most_common(20)
               for region in (app.places.region(k),)]
    if regions:
        lines.append(_("By region") + ": " + ", ".join(regions))
    lines.append(_("Winners: {n}").format(n=c["winners"]))
    return "\n".join(lines)


async def send_manage(message: Message, session: AsyncSession, app: App, locale: str,
                      challenge_id: int) -> None:
    challenge = await svc.get_challenge(session, challenge_id)
    nominations, categories = await svc.get_options(session, challenge_id)
    counts = await svc.counts(session, challenge_id)
    text = "\n".join([
        f"<b>{_('No. {n}').format(n=challenge.id)} · {KIND[challenge.kind]} · "
        f"{html.escape(challenge.text('title', locale))}</b>",
        _("Status: {status}").format(status=STATUS[challenge.status]),
        _("Start: {start}\nDeadline: {deadline}").format(
            start=fmt_dt(challenge.starts_at, locale, app.settings.tz),
            deadline=fmt_dt(challenge.deadline_at, locale, app.settings.tz)),
        _("Audience: {audience}").format(
            audience=audience_text(challenge.audience or {}, app, locale)),
        _("Accepted: {kinds}; up to {max} entries per person.").format(
            kinds=kinds_text(challenge.content_kinds) or "—", max=challenge.max_submissions),
        "", counts_text(counts, nominations, categories, app, locale)])
    await message.answer(text, reply_markup=manage_kb(challenge.id, challenge.status))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "man"))
async def on_manage(cb: CallbackQuery, callback_data: ChallengeAdminCD, session: AsyncSession,
                    app: App, locale: str) -> None:
    try:
        await send_manage(cb.message, session, app, locale, callback_data.id)
    except DomainError as exc:
        await cb.message.answer(say(exc))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "pub"))
async def on_publish(cb: CallbackQuery, callback_data: ChallengeAdminCD, session: AsyncSession,
                     app: App, user: UserInfo) -> None:
    try:
        await svc.publish(session, app, callback_data.id, user, app.now())
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
    await cb.message.answer(_("Published: No. {n}. The audience is being notified.").format(
        n=callback_data.id))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "del"))
async def on_delete(cb: CallbackQuery, callback_data: ChallengeAdminCD, session: AsyncSession,
                    user: UserInfo) -> None:
    try:
        await svc.delete_draft(session, callback_data.id, user)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
    await cb.message.answer(_("Draft No. {n} is deleted.").format(n=callback_data.id))


# Steps that cannot be taken back are asked first; "Yes" is the step's own button.
QUESTIONS = {
    "closeq": ("close", __("Close No. {n} now? No more entries will be accepted (extending the "
                           "deadline opens it again)."), __("⏹ Yes, close it")),
    "resq": ("res", __("Publish the results of No. {n}? Every participant gets a message at "
                       "once, and the places become final."), __("📣 Yes, publish")),
    "jdelq": ("jdel", __("Remove this juror from the jury of No. {n}? They will no longer get "
                         "entries to score."), __("➖ Yes, remove")),
}


@routes.callback_query(ChallengeAdminCD.filter(F.action.in_(set(QUESTIONS))))
async def on_question(cb: CallbackQuery, callback_data: ChallengeAdminCD) -> None:
    action, question, yes = QUESTIONS[callback_data.action]
    cid, arg = callback_data.id, callback_data.arg
    await cb.message.answer(str(question).format(n=cid), reply_markup=admin_kb(
        [(str(yes), action, cid, arg), (_("✖️ No"), "keep", cid, "")], columns=2))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "keep"))
async def on_keep(cb: CallbackQuery) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(_("Cancelled. Nothing was saved."))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "close"))
async def on_close(cb: CallbackQuery, callback_data: ChallengeAdminCD, session: AsyncSession,
                   app: App, user: UserInfo) -> None:
    if await svc.close(session, callback_data.id, user, app.now()):
        await cb.message.answer(_("No. {n} is closed: no more entries are accepted.").format(
            n=callback_data.id))
    else:
        await cb.message.answer(_("No. {n} is not open.").format(n=callback_data.id))


EDIT_LABELS = {
    "title_kk": __("Title (kk)"), "title_ru": __("Title (ru)"), "title_en": __("Title (en)"),
    "description_kk": __("Description (kk)"), "description_ru": __("Description (ru)"),
    "description_en": __("Description (en)"), "max_submissions": __("Entries per person"),
}


@routes.callback_query(ChallengeAdminCD.filter(F.action == "edit"))
async def on_edit(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                  session: AsyncSession) -> None:
    try:
        challenge = await editable(session, callback_data.id)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
    cid = challenge.id
    rows = [(str(EDIT_LABELS[f]), "editf", cid, f) for f in svc.EDITABLE]
    # handlers/challenges_edit.py: audience, content, nominations and age categories
    rows += [(_("👥 Audience"), "eaud", cid, ""), (_("📎 Accepted content"), "eck", cid, "")]
    if challenge.kind == "contest":
        rows += [(_("🏷 Nominations"), "eopt", cid, "nomination"),
                 (_("🎚 Age categories"), "eopt", cid, "category")]
    await cb.message.answer(_("What do you want to change?"),
                            reply_markup=admin_kb(rows, columns=2))


@routes.callback_query(ChallengeAdminCD.filter(F.action.in_({"editf", "ext"})))
async def on_edit_field(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                        state: FSMContext, session: AsyncSession) -> None:
    field = "deadline" if callback_data.action == "ext" else callback_data.arg
    if field != "deadline" and field not in svc.EDITABLE:
        return
    if field != "deadline":  # a closed challenge opens again by extending its deadline
        try:
            await editable(session, callback_data.id)
        except DomainError as exc:
            await cb.message.answer(error_text(exc))
            return
    await state.set_state(ChallengeEditSG.value)
    await state.set_data({"cid": callback_data.id, "field": field})
    if field == "deadline":
        await cb.message.answer(_("The new deadline, in Almaty time (e.g. 30.11.2026 18:00):"))
    else:
        await cb.message.answer(_("Type the new value of “{field}”:").format(
            field=EDIT_LABELS[field]))


@routes.message(ChallengeEditSG.value, TEXT)
async def on_edit_value(message: Message, state: FSMContext, session: AsyncSession, app: App,
                        user: UserInfo, locale: str) -> None:
    data = await state.get_data()
    try:
        if data["field"] == "deadline":
            deadline = svc.parse_local_time(message.text, app.settings.tz, end_of_day=True)
            await svc.extend(session, data["cid"], deadline, user, app.now())
        else:
            await svc.edit_field(session, data["cid"], data["field"], message.text, user)
    except DomainError as exc:
        await message.answer(error_text(exc))
        if exc.code in ("not_found", "already_judged", "edit_closed"):
            await state.clear()
        return
    await state.clear()
    await message.answer(_("Saved."))
    await send_manage(message, session, app, locale, data["cid"])


@routes.callback_query(ChallengeAdminCD.filter(F.action == "win"))
async def on_winners(cb: CallbackQuery, callback_data: ChallengeAdminCD, state: FSMContext,
                     session: AsyncSession, app: App, locale: str) -> None:
    challenge = await svc.get_challenge(session, callback_data.id)
    if challenge.status != "closed":  # a stale button: results published, or reopened
        code = "already_judged" if challenge.status == "judged" else "not_closed"
        await cb.message.answer(error_text(DomainError(code)))
        return
    rows = await svc.export_rows(session, callback_data.id, locale, app.places, app.settings.tz,
                                 str(labels.WAITING_FOR_GUARDIAN))
    approved = [r for r in rows if r[8] == "approved"]
    number = _("No. {n}")
    lines = [f"{number.format(n=r[0])} · {short_html(r[1], NAME_SHOWN)} · "
             f"{short_html(r[2], ORG_SHOWN)}"
             + (f" · {short_html(r[6], ORG_SHOWN)}" if r[6] else "")
             + (f" · {PLACE[r[9]]}" if r[9] in PLACE else "") for r in approved[:40]]
    await state.set_state(ChallengeEditSG.winners)
    await state.set_data({"cid": callback_data.id})
    text = _("Send the winners, one per line: “entry number place”. Places: gp (Grand Prix), "
             "1, 2, 3, diploma; “-” clears a place. For example:\n12 1\n15 diploma")
    if lines:
        # the export has every entry whole; here as many as fit, then "…and N more"
        hidden = len(approved) - len(lines)
        head = text + "\n\n" + _("Approved entries:")
        shown = take_lines(lines, TEXT_LIMIT - seen_length(head) - 1,
                           lambda n: more_text(n + hidden))
        if hidden and len(shown) == len(lines):
            shown.append(more_text(hidden))
        text = "\n".join([head, *shown])
    await cb.message.answer(text)


@routes.message(ChallengeEditSG.winners, TEXT)
async def on_winner_lines(message: Message, state: FSMContext, session: AsyncSession, app: App,
                          user: UserInfo, locale: str) -> None:
    cid = (await state.get_data())["cid"]
    try:
        n = await svc.set_places(session, cid, svc.parse_winner_lines(message.text), user)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    await state.clear()
    await message.answer(_("Saved places for {n} entries.").format(n=n))
    await send_manage(message, session, app, locale, cid)


@routes.message(ChallengeEditSG())
async def on_edit_need_text(message: Message) -> None:
    await message.answer(_("Please answer with a text message. /cancel to stop."))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "res"))
async def on_results(cb: CallbackQuery, callback_data: ChallengeAdminCD, session: AsyncSession,
                     app: App, user: UserInfo) -> None:
    try:
        n = await svc.publish_results(session, app, callback_data.id, user, app.now())
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
    await cb.message.answer(_("Results are published; {n} participants will get a message.")
                            .format(n=n))


# --- export ---------------------------------------------------------------------------------

EXPORT_HEADERS = (__("Entry"), __("Participant"), __("Organisation"), __("Organisation type"),
                  __("Region"), __("District"), __("Nomination"), __("Age category"),
                  __("Status"), __("Place"), __("Submitted at (Almaty)"), __("Content"),
                  __("Text or link"), __("Comment"), __("Telegram file ids"))


async def send_export(message: Message, session: AsyncSession, app: App, locale: str,
                      challenge_id: int) -> None:
    await svc.get_challenge(session, challenge_id)
    rows = await svc.export_rows(session, challenge_id, locale, app.places, app.settings.tz,
                                 str(labels.WAITING_FOR_GUARDIAN))
    for r in rows:
        r[3] = str(labels.ORG_TYPE[r[3]]) if r[3] in labels.ORG_TYPE else r[3]
        r[8] = str(SUB_STATUS.get(r[8], r[8]))
        r[9] = str(PLACE[r[9]]) if r[9] in PLACE else ""
        r[11] = str(CONTENT.get(r[11], r[11]))
    waiting = str(labels.WAITING_FOR_GUARDIAN)
    extra = await contest_xlsx.review_and_jury(session, challenge_id, locale, app.settings.tz,
                                               _, waiting)
    headers = [str(h) for h in EXPORT_HEADERS] + [_(h) for h in contest_xlsx.REVIEW_HEADERS]
    if extra.criteria:  # a contest with a jury round: its result per entry, and every score
        headers += [_(h) for h in contest_xlsx.JURY_HEADERS]
    width = len(headers) - len(EXPORT_HEADERS)
    rows = [r + extra.per_entry.get(r[0], [""] * width)[:width] for r in rows]
    sheets = [(_("Entries"), headers, rows)]
    if extra.criteria:
        sheets.append((_("Jury scores"), [*(_(h) for h in contest_xlsx.SCORES_HEADERS),
                                          *extra.criteria, _("Total")], extra.scores))
    # Building a sheet of 10,000 entries takes about a second: not on the event loop.
    data = await asyncio.to_thread(contest_xlsx.build, sheets)
    await message.answer_document(
        BufferedInputFile(data, filename=f"challenge_{challenge_id}.xlsx"),
        caption=_("Entries of No. {n}: {count}").format(n=challenge_id, count=len(rows)))


@routes.message(Command("export_challenge"), flags=HEAVY_DB)
async def cmd_export(message: Message, command: CommandObject, read_session: AsyncSession,
                     app: App, locale: str) -> None:
    try:
        challenge_id = typed_int((command.args or "").strip().lstrip("#"))
        if challenge_id is None:
            await message.answer(_("Usage: /export_challenge N (the number from /challenges)."))
            return
        await send_export(message, read_session, app, locale, challenge_id)
    except DomainError as exc:
        await message.answer(error_text(exc))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "xlsx"), flags=HEAVY_DB)
async def on_export(cb: CallbackQuery, callback_data: ChallengeAdminCD, read_session: AsyncSession,
                    app: App, locale: str) -> None:
    try:
        await send_export(cb.message, read_session, app, locale, callback_data.id)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
