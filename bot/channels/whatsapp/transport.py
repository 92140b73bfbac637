"""WhatsApp under the bot's one Dispatcher: its Bot (over WhatsAppSession), the webhook's
routes, and the way from a webhook to the handlers.

    GET  <path>  Meta's verification: hub.verify_token must be WHATSAPP_VERIFY_TOKEN
    POST <path>  X-Hub-Signature-256 must be the HMAC of the body with WHATSAPP_APP_SECRET
                 (else 401, nothing handled); each message is then an Update (inbound.py)

An update already handled (`processed_updates`, by its wamid) is skipped; one being handled
right now is answered 503 so Meta delivers it again later, as the Telegram webhook does. One
person's messages are handled in order.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace

import httpx
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bot.app import App, KeyedLocks
from bot.channels.stored_media import UploadStored
from bot.channels.whatsapp.channel import WhatsAppChannel
from bot.channels.whatsapp.client import DEFAULT_MIME, WaApiError, WaClient
from bot.channels.whatsapp.contacts import Contact, ContactBook
from bot.channels.whatsapp.inbound import (
    MEDIA_KINDS,
    Incoming,
    media_of,
    messages_of,
    to_update,
    update_id_of,
)
from bot.channels.whatsapp.session import (
    PAIR_RATE_WAIT,
    TelegramToWhatsApp,
    WhatsAppSession,
    whatsapp_token,
)
from bot.config import ConfigError, Settings
from bot.inflight import InFlight
from bot.limits import FitToLimits
from bot.middlewares import CommitBeforeRequest
from bot.pacing import LocalRateLimiter, RateLimiter, Timer
from bot.polling import already_processed
from bot.ratelimit_redis import RedisRateLimiter, shared_limiter
from bot.services.media_store import MediaStore

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
# Meta's webhook bodies are at most 3 MB (several messages and statuses batched): more than
# aiohttp's default 1 MiB, so the route reads its body itself; deploy/nginx allows as much.
BODY_LIMIT = 3 * 1024 * 1024


@dataclass
class WhatsApp:
    app: App
    bot: Bot
    client: WaClient
    contacts: ContactBook
    in_flight: InFlight
    media: MediaStore
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    handled: int = 0
    duplicates: int = 0
    rejected: int = 0

    async def close(self) -> None:
        await self.bot.session.close()


def client_for(settings: Settings, transport: httpx.AsyncBaseTransport | None = None,
               ) -> WaClient:
    if not settings.whatsapp_enabled or settings.whatsapp_token is None:
        raise ConfigError("WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID must both be set")
    if settings.whatsapp_app_secret is None:
        raise ConfigError("WHATSAPP_APP_SECRET: required, every webhook is checked with it")
    verify = settings.whatsapp_verify_token
    return WaClient(settings.whatsapp_token.get_secret_value(),
                    str(settings.whatsapp_phone_number_id),
                    app_secret=settings.whatsapp_app_secret.get_secret_value(),
                    verify_token=verify.get_secret_value() if verify else None,
                    base_url=settings.whatsapp_api_base_url, transport=transport,
                    business_account_id=settings.whatsapp_business_account_id)


def build_whatsapp(app: App, transport: httpx.AsyncBaseTransport | None = None,
                   client: WaClient | None = None) -> WhatsApp:
    """The WhatsApp side of `app` (`transport`: the tests' fake Cloud API; `client`: the
    console's stand-in for the Cloud API). Messages the Telegram bot is asked to send to a
    WhatsApp person go through it from now on, and files kept in the media store are
    uploaded when the Telegram bot sends them."""
    client = client or client_for(app.settings, transport)
    contacts = ContactBook(app.sessionmaker, clock=app.now)
    media = MediaStore(app.sessionmaker)
    session = WhatsAppSession(client, contacts, app.i18n, telegram=app.bot, media=media)
    session.middleware(FitToLimits())
    session.middleware(CommitBeforeRequest())
    bot = Bot(whatsapp_token(app.bot.id), session=session,
              default=DefaultBotProperties(parse_mode="HTML", link_preview_is_disabled=True))
    app.bot.session.middleware(TelegramToWhatsApp(bot))
    app.bot.session.middleware(UploadStored(media))
    # the delivery queue sends rows naming "whatsapp" through it, paced on their own:
    # WHATSAPP_RATE a second, one message per PAIR_RATE_WAIT to the same person
    channel = WhatsAppChannel(bot, client, contacts, app.sessionmaker, clock=app.now)
    app.channels[channel.name] = app.delivery.channels[channel.name] = channel
    app.delivery.limiters[channel.name] = whatsapp_pace(
        app.settings, app.delivery.timer, shared=isinstance(app.delivery.limiter,
                                                            RedisRateLimiter))
    return WhatsApp(app, bot, client, contacts, InFlight(app.redis, prefix=(
        f"{app.settings.redis_prefix}:whatsapp:in_flight")), media)


def whatsapp_pace(settings: Settings, timer: Timer, shared: bool) -> RateLimiter:
    """WHATSAPP_RATE a second and one message per PAIR_RATE_WAIT to a person. Meta counts
    both per business number, not per process: with Redis (shared, as Telegram's pace is
    when REDIS_URL is set) every process of this number reserves its slots there, so N
    processes together keep to them; else the process keeps them alone."""
    prefix = f"{settings.redis_prefix}:whatsapp:{settings.whatsapp_phone_number_id}:delivery"
    pace = shared_limiter(settings.redis_url, settings.whatsapp_rate, not shared,
                          per_chat=PAIR_RATE_WAIT, prefix=prefix)
    return pace or LocalRateLimiter(settings.whatsapp_rate, timer, per_chat=PAIR_RATE_WAIT)


# --- the webhook ------------------------------------------------------------------------------
WHATSAPP_KEY: web.AppKey[WhatsApp] = web.AppKey("whatsapp", WhatsApp)


def add_routes(web_app: web.Application, whatsapp: WhatsApp, path: str = WEBHOOK_PATH) -> None:
    web_app[WHATSAPP_KEY] = whatsapp
    web_app.router.add_get(path, verify)
    web_app.router.add_post(path, receive)


async def verify(request: web.Request) -> web.Response:
    whatsapp = request.app[WHATSAPP_KEY]
    query = request.query
    answer = None
    if query.get("hub.mode") == "subscribe" and whatsapp.app.settings.whatsapp_verify_token:
        answer = await whatsapp.client.challenge(query.get("hub.verify_token"),
                                                 query.get("hub.challenge"))
    if answer is None:
        return web.Response(status=403, text="wrong verify token")
    return web.Response(text=answer)


async def receive(request: web.Request) -> web.Response:
    whatsapp = request.app[WHATSAPP_KEY]
    body = await _body(request)
    if body is None:
        return web.Response(status=413, text="body too large")
    if not await whatsapp.client.signature_ok(body, request.headers.get(SIGNATURE_HEADER)):
        whatsapp.rejected += 1
        return web.Response(status=401, text="bad signature")
    try:
        payload = json.loads(body)
    except ValueError:
        return web.Response(status=400, text="not JSON")
    payload = payload if isinstance(payload, dict) else {}
    _note_number(whatsapp, payload)
    busy = False
    for incoming in messages_of(payload):
        busy |= not await handle_message(whatsapp, incoming)
    return web.Response(status=503, text="being handled") if busy else web.Response()


def _note_number(whatsapp: WhatsApp, payload: dict) -> None:
    """The business number as people see it (for wa.me links), from the webhook's metadata."""
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            number = ((change.get("value") or {}).get("metadata") or {}).get(
                "display_phone_number")
            if number:
                whatsapp.bot.session.display_number = "".join(filter(str.isdigit, number))
                return


async def _body(request: web.Request) -> bytes | None:
    """The raw body (the signature is over these very bytes); None beyond BODY_LIMIT."""
    if (request.content_length or 0) > BODY_LIMIT:
        return None
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > BODY_LIMIT:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def handle_message(whatsapp: WhatsApp, incoming: Incoming) -> bool:
    """Feed one message to the Dispatcher; False if it is being handled right now."""
    update_id = update_id_of(incoming.wamid)
    if not await whatsapp.in_flight.claim(update_id):
        whatsapp.duplicates += 1
        return False
    try:
        if await already_processed(whatsapp.app, [update_id]):
            whatsapp.duplicates += 1
            return True
        # in order per person: their last menu is read after their previous message's reply
        async with whatsapp.locks(hash(incoming.address)):
            contact = await whatsapp.contacts.arrive(incoming.address, incoming.wa_id)
            kept = await keep_media(whatsapp, incoming, contact)
            if kept is None:
                return False
            await _feed(whatsapp, kept, contact)
    finally:
        await whatsapp.in_flight.release(update_id)
    return True


async def keep_media(whatsapp: WhatsApp, incoming: Incoming, contact: Contact,
                     ) -> Incoming | None:
    """Download what they sent now, into the media store (its WhatsApp media id expires):
    the update then names the stored copy. None if WhatsApp could not hand it over just now
    (Meta delivers the webhook again); a media id WhatsApp no longer knows stays as it is."""
    found = media_of(incoming.message)
    if found is None:
        return incoming
    kind, media = found
    try:
        data = await whatsapp.client.media_bytes(str(media["id"]))
    except WaApiError as exc:
        logger.warning("WhatsApp media of a %s message not downloaded: %s", kind, exc)
        return None if exc.transient else incoming
    mime = str(media.get("mime_type")
               or DEFAULT_MIME.get(MEDIA_KINDS[kind], "application/octet-stream"))
    file_id = await whatsapp.media.put(contact.ext_id, data, mime, media.get("filename"))
    return replace(incoming, message={**incoming.message, kind: {**media, "id": file_id}})


async def _feed(whatsapp: WhatsApp, incoming: Incoming, contact: Contact) -> None:
    app = whatsapp.app
    try:
        update = Update.model_validate(to_update(incoming, contact, whatsapp.bot.id),
                                       context={"bot": whatsapp.bot})
        await app.dp.feed_update(whatsapp.bot, update, guard_update=True)
        whatsapp.handled += 1
        if app.metrics is not None:
            app.metrics.updates_handled.inc()
    except ValidationError:
        logger.warning("WhatsApp message %s: not understood", incoming.message.get("type"))
    except Exception:  # 200 anyway: Meta's retries would not help
        logger.exception("WhatsApp message could not be handled")
