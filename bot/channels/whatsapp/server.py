"""Where WhatsApp's webhook is served in each way the bot runs (`python -m bot run`):

- Telegram by webhook (WEBHOOK_URL): on the same server, at /whatsapp (bot.webhook);
- Telegram by long polling: a server of its own on WEBHOOK_HOST:WEBHOOK_PORT, /whatsapp;
- WhatsApp alone (no BOT_TOKEN): that server, the queue and the scheduler, no polling
  (bot.runner.run_polling).
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.app import App
from bot.channels.whatsapp.transport import WEBHOOK_PATH, WhatsApp, add_routes, build_whatsapp

logger = logging.getLogger(__name__)


async def serve_whatsapp(whatsapp: WhatsApp) -> web.AppRunner:
    """Start /whatsapp on WEBHOOK_HOST:WEBHOOK_PORT; the caller cleans the runner up."""
    settings = whatsapp.app.settings
    web_app = web.Application()
    add_routes(web_app, whatsapp)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
    logger.info("WhatsApp webhook served on %s:%s%s", settings.webhook_host,
                settings.webhook_port, WEBHOOK_PATH)
    return runner


def whatsapp_of(app: App) -> WhatsApp | None:
    """The WhatsApp side, when WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID are set."""
    return build_whatsapp(app) if app.settings.whatsapp_enabled else None
