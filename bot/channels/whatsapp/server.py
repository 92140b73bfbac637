"""Where WhatsApp's webhook is served in each way the bot runs (`python -m bot run`):

- Telegram by webhook (WEBHOOK_URL): on the same server, at /whatsapp (bot.webhook);
- Telegram by long polling: a server of its own on WEBHOOK_HOST:WEBHOOK_PORT, /whatsapp,
  shared with the verification page (bot.runner.serve_verify_page);
- WhatsApp alone (no BOT_TOKEN): that server, the queue and the scheduler, no polling
  (bot.runner.run_polling).
"""

from __future__ import annotations

import logging

from bot.app import App
from bot.channels.whatsapp.transport import WhatsApp, build_whatsapp

logger = logging.getLogger(__name__)


def whatsapp_of(app: App) -> WhatsApp | None:
    """The WhatsApp side, when WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID are set."""
    return build_whatsapp(app) if app.settings.whatsapp_enabled else None
