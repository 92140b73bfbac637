"""Errors, answered in one place.

A DomainError a handler raises is the person's mistake or a rule of the movement: it is
answered here, in the person's language (bot.middlewares.DomainErrors brings it here while
the update is still open), by the handler's `on_error` flag (error_flags). Anything else
is the last line of defence: log the failure, apologise in the user's language, go on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram.filters import ExceptionTypeFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, ErrorEvent, Message, Update
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import command_of
from bot.config import Settings
from bot.i18n import PoI18n
from bot.routing import Routes
from bot.services.errors import DomainError
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from handlers.shared.texts import error_text

routes = Routes(__name__)
logger = logging.getLogger(__name__)
OUR_CODE = re.compile(r"[a-z_]{1,32}")  # a command's or a callback prefix's name, nothing typed


# A flow's next words after the error's answer: (the chat's message, the update's data by
# HandlerData name: state, session, places, settings, locale, user).
FollowUp = Callable[[Message, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class OnError:
    """How a handler's DomainError is answered (the handler flag "on_error")."""

    alert: bool = False  # a button press: a pop-up instead of a new message
    clear_state: bool | frozenset[str] = False  # the flow ends: always, or for these codes
    then: FollowUp | None = None  # what the flow says next, e.g. its question asked again
    note: object = None  # a line added under the answer (a lazy text: said in their language)

    def clears(self, code: str) -> bool:
        if isinstance(self.clear_state, frozenset):
            return code in self.clear_state
        return self.clear_state


def error_flags(*, alert: bool = False, clear_state: bool | frozenset[str] = False,
                then: FollowUp | None = None, note: object = None) -> dict[str, OnError]:
    """Handler flags: `@routes.callback_query(..., flags=error_flags(alert=True))`, or a
    module's default: `Routes(__name__, flags=error_flags(alert=True))`."""
    return {"on_error": OnError(alert, clear_state, then, note)}


class StaleButton(DomainError):
    """A button of a flow that has ended or moved on: "This button is no longer active.",
    as the button's answer (a pop-up, or a short notice with alert=False)."""

    def __init__(self, alert: bool = True) -> None:
        super().__init__("stale_button")
        self.alert = alert


async def require_state(state: FSMContext, *expected: State, alert: bool = True) -> None:
    """Refuse a button whose flow is not in one of these steps any more."""
    if await state.get_state() not in {step.state for step in expected}:
        raise StaleButton(alert)


@routes.errors(ExceptionTypeFilter(DomainError))
async def on_domain_error(event: ErrorEvent, state: FSMContext | None = None,
                          callback_answer: CallbackAnswer | None = None,
                          failed_flags: dict[str, Any] | None = None,
                          session: AsyncSession | None = None,
                          places: PlaceDirectory | None = None,
                          settings: Settings | None = None, locale: str | None = None,
                          user: UserInfo | None = None) -> bool:
    exc: DomainError = event.exception  # type: ignore[assignment]  # the filter says so
    how = (failed_flags or {}).get("on_error") or OnError()
    if state is not None and how.clears(exc.code):
        await state.clear()
    text = error_text(exc, settings.centre_contact if settings is not None else "")
    if how.note is not None:
        text += f"\n{how.note}"
    update = event.update
    if update.callback_query is not None:
        await _answer_press(update.callback_query, callback_answer, text,
                            pop_up=exc.alert if isinstance(exc, StaleButton) else how.alert,
                            as_message=not isinstance(exc, StaleButton) and not how.alert)
    elif update.message is not None:
        await update.message.answer(text)
    else:
        logger.warning("update %s: %s refused (%s), nobody to tell", update.update_id,
                       describe(update), exc.code)
    chat = update.message or (update.callback_query.message if update.callback_query else None)
    if how.then is not None and isinstance(chat, Message):
        await how.then(chat, {"state": state, "session": session, "places": places,
                              "settings": settings, "locale": locale, "user": user})
    return True


async def _answer_press(cb: CallbackQuery, callback_answer: CallbackAnswer | None, text: str,
                        pop_up: bool, as_message: bool) -> None:
    """A new message under the buttons, or the press's own answer (CallbackAnswerMiddleware
    sends it once the update is done)."""
    if as_message and cb.message is not None:
        await cb.message.answer(text)
        return
    if callback_answer is None or callback_answer.answered:
        await cb.answer(text, show_alert=pop_up)
        return
    callback_answer.text, callback_answer.show_alert = text, pop_up


@routes.errors()
async def on_error(event: ErrorEvent, i18n: PoI18n, locale: str | None = None,
                   user: UserInfo | None = None, raw_state: str | None = None) -> bool:
    update = event.update
    # What debugging needs and nothing a person wrote: the kind of update, our internal user
    # id, the flow's state; the exception's class here, the traceback below (bot.logs keeps
    # exception texts out unless they are ours or Telegram's).
    logger.error("update %s failed (%s, user %s, state %s): %s", update.update_id,
                 describe(update), user.id if user else "-", raw_state or "-",
                 type(event.exception).__name__, exc_info=event.exception)
    # The failing handler's i18n context is gone by now: set it again for the apology.
    with i18n.context(), i18n.use_locale(locale or i18n.default_locale):
        text = _("Sorry, something went wrong. Please try again.")
    try:
        if update.message:
            await update.message.answer(text)
        elif update.callback_query:
            await update.callback_query.answer(text, show_alert=True)
    except Exception:  # the apology itself may fail (user blocked the bot, network)
        logger.warning("could not tell the user about the failure of update %s",
                       update.update_id)
    return True


def describe(update: Update) -> str:
    """'message /start', 'message photo', 'callback_query rv', or the update's type."""
    kind = update.event_type
    if update.message:
        # read as the access rule reads it (a caption can be a command too)
        command = command_of(update.message.text or update.message.caption) or ""
        if OUR_CODE.fullmatch(command):
            return f"{kind} /{command}"
        content = update.message.content_type  # an enum: its value, "photo", not its name
        return f"{kind} {getattr(content, 'value', content)}"
    if update.callback_query:
        prefix = (update.callback_query.data or "").split(":", 1)[0]
        return f"{kind} {prefix}" if OUR_CODE.fullmatch(prefix) else kind
    return kind
