"""The centre's and coordinators' tools: approvals, invites, join links, promotion, imports."""

from __future__ import annotations

import html
import io
import logging

import segno
from aiogram import Bot, F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.app import App
from bot.callbacks import ApproveCD, DemoteCD, InviteCD, PageCD, PromoteCD, RegCD
from bot.i18n import fmt_dt
from bot.notices.approvals import (
    describe_coordinator,
    notify_coordinator_decision,
    notify_demoted,
    notify_promoted,
)
from bot.routing import Routes
from bot.services import registration as reg
from bot.services import staff as staff_svc
from bot.services.activity import log_activity
from bot.services.errors import DomainError
from bot.services.numbers import as_int, typed_int
from bot.services.places import IMPORT_COLUMNS, Place, import_districts_csv
from bot.services.users import get_user
from db.models import Invite, User
from handlers.people.profile import alert
from handlers.people.registration import show_districts
from handlers.shared.keyboards import region_kb
from handlers.shared.texts import error_text

routes = Routes(__name__)
logger = logging.getLogger(__name__)


CSV_MAX_BYTES = 1_000_000
PENDING_SHOWN = 20
PRESETS = (("7", "1"), ("30", "1"), ("30", "10"))


async def _me(session: AsyncSession, tg_id: int) -> User | None:
    user = await get_user(session, tg_id)
    return user if user is not None and user.status != "erased" else None


def approval_markup(user_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Approve"), callback_data=ApproveCD(user_id=user_id, ok=True))
    kb.button(text=_("❌ Reject"), callback_data=ApproveCD(user_id=user_id, ok=False))
    return kb.as_markup()


# --- coordinator approval ------------------------------------------------------------------

def outcome_line(coordinator: User, decider: User | None) -> str:
    name = html.escape(decider.full_name or "—") if decider else "—"
    if coordinator.status == "active":
        return _("✅ Approved by {name}").format(name=name)
    return _("❌ Rejected by {name}").format(name=name)


async def show_outcome(cb: CallbackQuery, line: str) -> None:
    """Append the outcome to the request message and drop its buttons."""
    if isinstance(cb.message, Message) and cb.message.text:
        await cb.message.edit_text(f"{cb.message.html_text}\n\n{line}", reply_markup=None)
    else:  # too old to edit: say it in a new message
        await cb.bot.send_message(cb.from_user.id, line)


@routes.callback_query(ApproveCD.filter())
async def on_decision(cb: CallbackQuery, callback_data: ApproveCD, session: AsyncSession, app: App,
                      callback_answer: CallbackAnswer) -> None:
    staff = await _me(session, cb.from_user.id)
    if staff is None:
        alert(callback_answer, _("This button is no longer active."))
        return
    try:
        coordinator = await reg.decide_coordinator(session, app.users, staff,
                                                   callback_data.user_id, callback_data.ok)
    except DomainError as exc:
        alert(callback_answer, error_text(exc))
        if exc.code == "already_decided":
            done = await session.get(User, callback_data.user_id)
            decider = await session.get(User, done.approved_by) if done.approved_by else None
            await show_outcome(cb, outcome_line(done, decider))
        return
    await notify_coordinator_decision(session, app.translator, coordinator, callback_data.ok)
    await show_outcome(cb, outcome_line(coordinator, staff))
    callback_answer.text = _("Done: the coordinator will be told.")


@routes.message(Command("pending"))
async def cmd_pending(message: Message, session: AsyncSession, app: App, locale: str) -> None:
    waiting = await reg.list_pending_coordinators(session, PENDING_SHOWN)
    if not waiting:
        await message.answer(_("No coordinators are waiting for approval."))
        return
    total = await reg.count_pending_coordinators(session)
    await message.answer(_("Coordinators waiting for approval: {count}.").format(count=total))
    for user in waiting:
        await message.answer(describe_coordinator(app.translator, app.places, user, locale),
                             reply_markup=approval_markup(user.id))
    if total > len(waiting):
        await message.answer(_("Decide on these and send /pending again to see the rest."))


# --- coordinator invites -------------------------------------------------------------------

class InviteSG(StatesGroup):
    level = State()
    region = State()
    district = State()
    limits = State()


def level_kb() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for value, text in labels.LEVEL.items():
        kb.button(text=str(text), callback_data=InviteCD(step="level", value=value))
    kb.adjust(1)
    return kb.as_markup()


def limits_kb() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for days, uses in PRESETS:
        kb.button(text=_("{days} days · {uses} uses").format(days=days, uses=uses),
                  callback_data=InviteCD(step="preset", value=f"{days}-{uses}"))
    kb.adjust(1)
    return kb.as_markup()


def scope_text(level: str, region: Place | None, district: Place | None, locale: str) -> str:
    parts = [labels.label(labels.LEVEL, level)]
    if region:
        parts.append(region.name(locale))
    if district:
        parts.append(district.name(locale))
    return html.escape(" — ".join(parts))


async def deep_link(bot: Bot, payload: str) -> str:
    me = await bot.me()
    return f"https://t.me/{me.username}?start={payload}"


async def issue_invite(message: Message, session: AsyncSession, app: App, locale: str, staff: User,
                       level: str, region_id: int, district_id: int | None, days: int,
                       uses: int) -> bool:
    try:
        invite = await reg.create_invite(session, staff, "coordinator", level, region_id,
                                         district_id, days=days, max_uses=uses, now=app.now())
    except DomainError as exc:
        await message.answer(error_text(exc))
        return False
    link = await deep_link(message.bot, f"inv_{invite.code}")
    await message.answer(invite_text(invite, link, app, locale))
    return True


def invite_text(invite: Invite, link: str, app: App, locale: str) -> str:
    scope = scope_text(invite.level or "", app.places.region(invite.region_id),
                       app.places.district(invite.district_id), locale)
    until = fmt_dt(invite.expires_at, locale, app.settings.tz) if invite.expires_at else "—"
    return _("Invite link for a coordinator:\n{link}\n\nScope: {scope}\nValid until: {until}\n"
             "Can be used: {uses} time(s)\n\nSend it only to the person it is meant for: "
             "whoever opens it becomes a coordinator without approval.").format(
        link=link, scope=scope, until=until, uses=invite.max_uses)


def parse_invite_args(args: str, app: App, locale: str) -> dict[str, object] | str:
    """`regional <region> [days] [uses]` or `district <region> <district no. or name>
    [days=N] [uses=N]`; returns the parsed scope or an error message."""
    try:
        return _parse_invite_args(args, app, locale)
    except DomainError as exc:  # a number written with digits other than 0-9
        return error_text(exc)


def _parse_invite_args(args: str, app: App, locale: str) -> dict[str, object] | str:
    tokens = args.split()
    options = {"days": 7, "uses": 1}
    rest = []
    for token in tokens:
        key, sep, value = token.partition("=")
        if sep and key.lower() in options:
            number = typed_int(value)
            if number is None:
                return _("Use numbers, for example days=7 uses=1.")
            options[key.lower()] = number
        else:
            rest.append(token)
    if len(rest) < 2 or rest[0].lower() not in labels.LEVEL:
        return invite_usage()
    level, region = rest[0].lower(), app.places.find_region(rest[1])
    if region is None:
        codes = ", ".join(p.code for p in app.places.regions)
        return _("Unknown region code. Known codes: {codes}").format(codes=codes)
    district: Place | None = None
    if level == "regional":
        for key, word in zip(("days", "uses"), rest[2:4], strict=False):
            if (number := typed_int(word)) is not None:
                options[key] = number
    else:
        query = " ".join(rest[2:])
        found = _find_district(app, region.id, query, locale)
        if isinstance(found, str):
            return found
        district = found
    return {"level": level, "region_id": region.id,
            "district_id": district.id if district else None, **options}


def _find_district(app: App, region_id: int, query: str, locale: str) -> Place | str:
    items = app.places.districts.get(region_id, [])
    number = typed_int(query)
    if number is not None and 1 <= number <= len(items):
        return items[number - 1]
    q = query.casefold()
    matches = [p for p in items if q and any(q in n.casefold() for n in p.names.values())]
    if len(matches) > 1:  # "Semey" means Semey City rather than Zhanasemey District
        words = [p for p in matches
                 if any(w.startswith(q) for n in p.names.values() for w in n.casefold().split())]
        matches = words or matches
    if len(matches) == 1:
        return matches[0]
    listing = "\n".join(f"{n}. {html.escape(p.name(locale))}"
                        for n, p in enumerate(items, start=1))
    return _("Name the district by its number or a unique part of its name:\n{listing}").format(
        listing=listing)


def invite_usage() -> str:
    return _("Usage:\n/invite — step by step\n/invite regional &lt;region code&gt; [days] "
             "[uses]\n/invite district &lt;region code&gt; &lt;district number or name&gt; "
             "[days=N] [uses=N]")


@routes.message(Command("invite"))
async def cmd_invite(message: Message, command: CommandObject, state: FSMContext,
                     session: AsyncSession, app: App, locale: str) -> None:
    await state.clear()
    if not command.args:
        await state.set_state(InviteSG.level)
        await message.answer(_("Invite a coordinator. At which level will they coordinate?"),
                             reply_markup=level_kb())
        return
    parsed = parse_invite_args(command.args, app, locale)
    if isinstance(parsed, str):
        await message.answer(parsed)
        return
    staff = await _me(session, message.from_user.id)
    await issue_invite(message, session, app, locale, staff, parsed["level"],
                       parsed["region_id"], parsed["district_id"], parsed["days"],
                       parsed["uses"])


@routes.callback_query(InviteSG.level, InviteCD.filter(F.step == "level"))
async def on_invite_level(cb: CallbackQuery, callback_data: InviteCD, state: FSMContext, app: App,
                          locale: str, callback_answer: CallbackAnswer) -> None:
    if callback_data.value not in labels.LEVEL:
        alert(callback_answer, _("This button is no longer active."))
        return
    await cb.message.edit_reply_markup(reply_markup=None)
    await state.update_data(level=callback_data.value)
    await state.set_state(InviteSG.region)
    await cb.message.answer(_("Which region?"), reply_markup=region_kb(app.places.regions, locale))


@routes.callback_query(InviteSG.region, RegCD.filter(F.field == "region"))
async def on_invite_region(cb: CallbackQuery, callback_data: RegCD, state: FSMContext, app: App,
                           locale: str, callback_answer: CallbackAnswer) -> None:
    region = app.places.region_from(callback_data.value)
    if region is None:
        alert(callback_answer, _("Unknown region."))
        return
    await cb.message.edit_reply_markup(reply_markup=None)
    await state.update_data(region_id=region.id, district_query="")
    if (await state.get_data()).get("level") == "district":
        await state.set_state(InviteSG.district)
        await show_districts(cb.message, app, region.id, 0, "", locale)
        return
    await ask_limits(cb.message, state)


async def ask_limits(message: Message, state: FSMContext) -> None:
    await state.set_state(InviteSG.limits)
    await message.answer(_("How long is the link valid and how many people may use it? Press "
                           "a button or type two numbers: days and uses, e.g. 14 3"),
                         reply_markup=limits_kb())


@routes.callback_query(InviteSG.district, RegCD.filter(F.field == "district"))
async def on_invite_district(cb: CallbackQuery, callback_data: RegCD, state: FSMContext, app: App,
                             callback_answer: CallbackAnswer) -> None:
    data = await state.get_data()
    place = app.places.district_from(callback_data.value)
    if place is None or place.region_id != data.get("region_id"):
        alert(callback_answer, _("Unknown district."))
        return
    await cb.message.edit_reply_markup(reply_markup=None)
    await state.update_data(district_id=place.id)
    await ask_limits(cb.message, state)


@routes.callback_query(InviteSG.district, RegCD.filter(F.field == "back"))
async def on_invite_back(cb: CallbackQuery, state: FSMContext, app: App, locale: str) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    await state.set_state(InviteSG.region)
    await cb.message.answer(_("Which region?"), reply_markup=region_kb(app.places.regions, locale))


@routes.callback_query(InviteSG.district, PageCD.filter())
async def on_invite_page(cb: CallbackQuery, callback_data: PageCD, state: FSMContext, app: App,
                         locale: str, callback_answer: CallbackAnswer) -> None:
    data = await state.get_data()
    if callback_data.region != data.get("region_id"):
        alert(callback_answer, _("This button is no longer active."))
        return
    await show_districts(cb.message, app, callback_data.region, callback_data.page,
                         data.get("district_query", ""), locale, edit=True)


@routes.message(InviteSG.district, F.text, ~F.text.startswith("/"))
async def on_invite_district_search(message: Message, state: FSMContext, app: App,
                                    locale: str) -> None:
    query = (message.text or "")[:60]
    await state.update_data(district_query=query)
    data = await state.get_data()
    await show_districts(message, app, data["region_id"], 0, query, locale)


async def finish_invite(message: Message, tg_id: int, state: FSMContext, session: AsyncSession,
                        app: App, locale: str, days: int, uses: int) -> None:
    data = await state.get_data()
    staff = await _me(session, tg_id)
    if staff is None or not data.get("region_id"):
        await state.clear()
        return
    if await issue_invite(message, session, app, locale, staff, data["level"],
                          data["region_id"], data.get("district_id"), days, uses):
        await state.clear()
    else:
        await ask_limits(message, state)


@routes.callback_query(InviteSG.limits, InviteCD.filter(F.step == "preset"))
async def on_invite_preset(cb: CallbackQuery, callback_data: InviteCD, state: FSMContext,
                           session: AsyncSession, app: App, locale: str,
                           callback_answer: CallbackAnswer) -> None:
    raw_days, _sep, raw_uses = callback_data.value.partition("-")
    days, uses = as_int(raw_days), as_int(raw_uses)
    if days is None or uses is None:
        alert(callback_answer, _("This button is no longer active."))
        return
    await cb.message.edit_reply_markup(reply_markup=None)
    await finish_invite(cb.message, cb.from_user.id, state, session, app, locale, days, uses)


@routes.message(InviteSG.limits, F.text, ~F.text.startswith("/"))
async def on_invite_limits_text(message: Message, state: FSMContext, session: AsyncSession,
                                app: App, locale: str) -> None:
    try:
        numbers = [typed_int(p) for p in (message.text or "").split()]
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    if len(numbers) != 2 or None in numbers:
        await message.answer(_("Please type two numbers: days and uses, e.g. 14 3"))
        await ask_limits(message, state)
        return
    await finish_invite(message, message.from_user.id, state, session, app, locale,
                        numbers[0], numbers[1])


@routes.message(InviteSG.level, ~F.text.startswith("/"))
@routes.message(InviteSG.region, ~F.text.startswith("/"))
@routes.message(InviteSG.district, ~F.text)
@routes.message(InviteSG.limits, ~F.text)
async def on_invite_need_button(message: Message) -> None:
    await message.answer(_("Please choose one of the buttons, or send /cancel."))


# --- join links ----------------------------------------------------------------------------

def qr_png(url: str) -> bytes:
    buf = io.BytesIO()
    segno.make(url).save(buf, kind="png", scale=8)
    return buf.getvalue()


@routes.message(Command("joinlink"))
async def cmd_joinlink(message: Message, session: AsyncSession, app: App, locale: str) -> None:
    user = await _me(session, message.from_user.id)
    if user is None:
        return
    invite = await reg.join_link_for(session, user)
    link = await deep_link(message.bot, f"j_{invite.code}")
    names = app.places.names(invite.region_id, invite.district_id, locale)
    area = html.escape(" — ".join(names)) or _("all regions")
    if app.places.district(invite.district_id) is not None:
        text = _("Join link for students of your area ({area}):\n{link}\n\nStudents who open "
                 "it skip choosing the region and district. Print the QR code or show it on a "
                 "screen.").format(area=area, link=link)
    else:  # a regional coordinator's link: the district is still theirs to choose
        text = _("Join link for students of your area ({area}):\n{link}\n\nStudents who open "
                 "it skip choosing the region and then choose their district. Print the QR code "
                 "or show it on a screen.").format(area=area, link=link)
    await message.answer_photo(BufferedInputFile(qr_png(link), filename="joinlink.png"),
                               caption=text)


# --- promotion -----------------------------------------------------------------------------

@routes.message(Command("promote"))
async def cmd_promote(message: Message, command: CommandObject, session: AsyncSession,
                      app: App, locale: str) -> None:
    try:
        tg_id = typed_int(command.args, max_digits=15)
        if tg_id is None:
            await message.answer(_("Usage: /promote &lt;Telegram id&gt; (the user must be "
                                   "registered in the bot)."))
            return
        user = await reg.promotable(session, tg_id)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    # Staff see everyone's data: a mistyped id must not slip through.
    # The id rides in the buttons, so an older prompt can only ever promote whom it shows.
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Yes, make staff"), callback_data=PromoteCD(tg_id=tg_id, yes=True))
    kb.button(text=_("✖ Cancel"), callback_data=PromoteCD(tg_id=tg_id, yes=False))
    await message.answer(
        _("Make this person centre staff? Staff see everyone's data and use every command.")
        + "\n\n" + _("Role: {value}").format(value=labels.label(labels.ROLE, user.role))
        + "\n" + _who(app, user, locale), reply_markup=kb.as_markup())


def _who(app: App, user: User, locale: str) -> str:
    """Name, organisation and place: enough to see it is the intended person."""
    return "\n".join(html.escape(part) for part in (
        user.full_name or "—", user.org_name or "—",
        ", ".join(app.places.names(user.region_id, user.district_id, locale)) or "—"))


@routes.callback_query(PromoteCD.filter())
async def on_promote_confirm(cb: CallbackQuery, callback_data: PromoteCD,
                             session: AsyncSession, app: App) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    if not callback_data.yes:
        await cb.message.answer(_("Cancelled. Nothing was saved."))
        return
    staff = await _me(session, cb.from_user.id)
    try:
        user = await reg.promote_to_staff(session, app.users, staff, callback_data.tg_id)
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
    await notify_promoted(session, app.translator, user)
    await cb.message.answer(_("{name} is now centre staff.").format(
        name=html.escape(user.full_name or str(callback_data.tg_id))))


# --- demotion --------------------------------------------------------------------------------

@routes.message(Command("demote"))
async def cmd_demote(message: Message, command: CommandObject, session: AsyncSession,
                     app: App, locale: str) -> None:
    """Asks first, showing whom: staff rights go at once and a mistyped id must not slip."""
    try:
        tg_id = typed_int(command.args, max_digits=15)
        if tg_id is None:
            await message.answer(_("Usage: /demote &lt;Telegram id&gt; (a centre staff "
                                   "member)."))
            return
        user = await staff_svc.demotable(session, tg_id)
    except DomainError as exc:
        await message.answer(error_text(exc))
        return
    lines = [_("Take away this person's staff rights? They become a parliament member and "
               "lose every staff command at once.")]
    if tg_id == message.from_user.id:
        lines.append(_("⚠️ This is you: you will lose your own staff rights."))
    if tg_id in app.settings.staff_ids:
        lines.append(_("Their id is in STAFF_IDS: it will no longer make them staff at start. "
                       "Remove it from STAFF_IDS as well."))
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Yes, take staff rights away"), callback_data=DemoteCD(tg_id=tg_id,
                                                                             yes=True))
    kb.button(text=_("✖ Cancel"), callback_data=DemoteCD(tg_id=tg_id, yes=False))
    await message.answer("\n".join(lines) + "\n\n" + _who(app, user, locale),
                         reply_markup=kb.as_markup())


@routes.callback_query(DemoteCD.filter())
async def on_demote_confirm(cb: CallbackQuery, callback_data: DemoteCD,
                            session: AsyncSession, app: App) -> None:
    await cb.message.edit_reply_markup(reply_markup=None)
    if not callback_data.yes:
        await cb.message.answer(_("Cancelled. Nothing was saved."))
        return
    staff = await _me(session, cb.from_user.id)
    try:
        user = await staff_svc.demote(session, app.users, staff, callback_data.tg_id,
                                      app.now())
    except DomainError as exc:
        await cb.message.answer(error_text(exc))
        return
    # a staff flow they were in (a wizard, an import) must not go on after the rights went
    await FSMContext(storage=app.storage, key=StorageKey(
        bot_id=cb.bot.id, chat_id=callback_data.tg_id, user_id=callback_data.tg_id)).clear()
    if callback_data.tg_id != cb.from_user.id:
        await notify_demoted(session, app.translator, user)
    await cb.message.answer(_("{name} is no longer centre staff.").format(
        name=html.escape(user.full_name or str(callback_data.tg_id))))


# --- district corrections ------------------------------------------------------------------

class ImportSG(StatesGroup):
    file = State()


@routes.message(Command("import_districts"))
async def cmd_import_districts(message: Message, state: FSMContext) -> None:
    await state.set_state(ImportSG.file)
    await message.answer(_("Send the CSV file as a document. Columns: {columns}. Units are "
                           "matched by their Russian or Kazakh name: a match is renamed, "
                           "anything else is added. Send /cancel to stop.").format(
        columns=", ".join(IMPORT_COLUMNS)))


@routes.message(ImportSG.file, F.document)
async def on_import_file(message: Message, state: FSMContext, session: AsyncSession,
                         app: App) -> None:
    doc = message.document
    if doc.file_size and doc.file_size > CSV_MAX_BYTES:
        await message.answer(_("The file is too large (at most 1 MB). Send a smaller one."))
        return
    raw = (await message.bot.download(doc.file_id)).read()
    try:
        added, updated = await import_districts_csv(session, raw)
    except DomainError as exc:
        await message.answer(error_text(exc) + "\n" + _("Fix the file and send it again, or "
                                                        "send /cancel."))
        return
    staff = await _me(session, message.from_user.id)
    await log_activity(session, "import_districts", staff,
                       extra={"added": added, "updated": updated})
    await session.flush()
    await app.places.load(session)
    await state.clear()
    await message.answer(_("Import finished: {added} added, {updated} updated.").format(
        added=added, updated=updated))


@routes.message(ImportSG.file, ~F.text.startswith("/"))
async def on_import_not_file(message: Message) -> None:
    await message.answer(_("Please send the CSV file as a document, or send /cancel."))
