"""The last line of defence: log the failure, apologise in the user's language, go on."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

from bot.factory import App

router = Router(name=__name__)
logger = logging.getLogger(__name__)


@router.errors()
async def on_error(event: ErrorEvent, app: App, locale: str | None = None) -> bool:
    update = event.update
    logger.exception("update %s failed: %s", update.update_id, event.exception,
                     exc_info=event.exception)
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
