"""The last line of defence: log the failure, apologise in the user's language, go on."""

from __future__ import annotations

import logging
import re

from aiogram import Router
from aiogram.types import ErrorEvent, Update
from aiogram.utils.i18n import gettext as _

from bot.access import command_of
from bot.app import App
from bot.services.users import UserInfo

router = Router(name=__name__)
logger = logging.getLogger(__name__)
OUR_CODE = re.compile(r"[a-z_]{1,32}")  # a command's or a callback prefix's name, nothing typed


@router.errors()
async def on_error(event: ErrorEvent, app: App, locale: str | None = None,
                   user: UserInfo | None = None, raw_state: str | None = None) -> bool:
    update = event.update
    # What debugging needs and nothing a person wrote: the kind of update, our internal user
    # id, the flow's state; the exception's class here, the traceback below (bot.logs keeps
    # exception texts out unless they are ours or Telegram's).
    logger.error("update %s failed (%s, user %s, state %s): %s", update.update_id,
                 describe(update), user.id if user else "-", raw_state or "-",
                 type(event.exception).__name__, exc_info=event.exception)
    # The failing handler's i18n context is gone by now: set it again for the apology.
    with app.i18n.context(), app.i18n.use_locale(locale or app.i18n.default_locale):
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
