"""Staff: the jury's ranking, and the ranking applied to places in one step."""

from __future__ import annotations

from aiogram import F
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ChallengeAdminCD
from bot.config import Settings
from bot.routing import Routes
from bot.services import challenges as svc
from bot.services import jury
from bot.services.errors import DomainError
from bot.services.numbers import as_int
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from handlers.challenges.jury_texts import plan_text, ranking_text
from handlers.challenges.keyboards import admin_kb, plan_kb
from handlers.challenges.manage import send_manage
from handlers.shared.texts import error_text

routes = Routes(__name__)


async def group_names(session: AsyncSession, cid: int, locale: str) -> dict[int, str]:
    nominations, categories = await svc.get_options(session, cid)
    return {o.id: o.name(locale) for o in (*nominations, *categories)}


@routes.callback_query(ChallengeAdminCD.filter(F.action == "jrank"))
async def on_ranking(cb: CallbackQuery, callback_data: ChallengeAdminCD, session: AsyncSession,
                     locale: str) -> None:
    groups = await jury.rankings(session, callback_data.id)
    if not groups:
        await cb.message.answer(_("No complete scores yet."))
        return
    names = await group_names(session, callback_data.id, locale)
    challenge = await svc.get_challenge(session, callback_data.id)
    markup = None
    if challenge.status in ("closed", "judged"):
        footer = _("Mark winners with 🏆 in /challenges, or apply the ranking to places in "
                   "one step.")
        markup = admin_kb([(_("🏅 Apply to places"), "rkap", callback_data.id, "")])
    else:
        footer = _("Places can be given once the challenge is closed.")
    await cb.message.answer(ranking_text(groups, names, footer), reply_markup=markup)


# --- the ranking applied to places ----------------------------------------------------------

DIPLOMA_CHOICES = ("0", "3", "5", "10", "all")


def diplomas_value(raw: str) -> int | None:
    """'all' -> None (every other entry with the quorum), else the number (untrusted)."""
    if raw == "all":
        return None
    if (number := as_int(raw, max_digits=5)) is not None:
        return number
    raise DomainError("bad_number", max=jury.DIPLOMAS_MAX)


@routes.callback_query(ChallengeAdminCD.filter(F.action == "rkap"))
async def on_apply_ranking(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                           session: AsyncSession) -> None:
    challenge = await svc.get_challenge(session, callback_data.id)
    if challenge.status not in ("closed", "judged"):
        raise DomainError("not_closed")
    choices = {"0": _("No diplomas"), "all": _("All the others")}
    await cb.message.answer(
        _("Apply the ranking to places: in each nomination and age category, among the "
          "entries with the quorum, rank 1 gets 1st place, 2 — 2nd, 3 — 3rd; equal scores "
          "share a place. A Grand Prix is only given by hand.\n\nHow many ranks after the "
          "top three get a diploma?"),
        reply_markup=admin_kb([(choices.get(d, d), "rkpv", callback_data.id, d)
                               for d in DIPLOMA_CHOICES], columns=3))


async def send_plan(message: Message, plan: jury.PlacesPlan, session: AsyncSession,
                    locale: str, raw_diplomas: str) -> None:
    names = await group_names(session, plan.challenge_id, locale)
    await message.answer(plan_text(plan, names), reply_markup=plan_kb(plan, raw_diplomas))


@routes.callback_query(ChallengeAdminCD.filter(F.action == "rkpv"))
async def on_places_preview(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                            session: AsyncSession, locale: str) -> None:
    raw = callback_data.arg
    plan = await jury.plan_places(session, callback_data.id, diplomas_value(raw))
    await send_plan(cb.message, plan, session, locale, raw)


@routes.callback_query(ChallengeAdminCD.filter(F.action == "rkok"))
async def on_places_confirm(cb: CallbackQuery, callback_data: ChallengeAdminCD,
                            session: AsyncSession, places: PlaceDirectory, settings: Settings,
                            user: UserInfo, locale: str) -> None:
    raw, mode, fp = [*callback_data.arg.split("."), "", ""][:3]
    if mode not in ("k", "o") or not fp:
        return
    diplomas = diplomas_value(raw)
    # Scores or places moved since the preview: the new plan is shown to confirm instead
    # (apply_ranking refuses on its own too, should they move in between).
    plan = await jury.plan_places(session, callback_data.id, diplomas)
    if plan.fingerprint() != fp:
        await cb.message.answer(error_text(DomainError("ranking_changed")))
        await send_plan(cb.message, plan, session, locale, raw)
        return
    _plan, n = await jury.apply_ranking(session, callback_data.id, diplomas, mode == "o", fp,
                                        user)
    await cb.message.answer(ngettext("Places from the ranking are saved for {n} entry.",
                                     "Places from the ranking are saved for {n} entries.",
                                     n).format(n=n))
    await send_manage(cb.message, session, places, settings, locale, callback_data.id)


@routes.callback_query(ChallengeAdminCD.filter(F.action == "rkno"))
async def on_places_cancel(cb: CallbackQuery) -> None:
    await cb.message.answer(_("Cancelled. No places were changed."))
