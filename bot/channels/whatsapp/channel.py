"""WhatsApp as a delivery-queue `Channel` (bot.channels.base): queued OutgoingMessages go
out through the WhatsApp Bot (its WhatsAppSession), as Telegram's go through theirs.

The 24-hour window: a free-form message reaches only a person who wrote within 24 hours
(wa_contacts.last_inbound_at). Outside it the row goes as the approved template of its kind
(bot.notices.templates: the row's source_type → announcement, reminder, result or
certificate-ready) in the person's language, the message itself as the template's parameter;
a certificate's PDF rides as the template's header document. If the Cloud API still answers
131047 (the window closed since we looked), the template is sent then. A template that left
part of the message out (the text beyond 850 characters, an album's other photos, a file,
buttons) is returned as `InPart`: the queue notes it owed, and once the person writes, the
whole message comes as a row of its own (bot.services.owed), whose window is read afresh.

The Cloud API's errors, as the queue must treat them:
- 131026 (undeliverable: not on WhatsApp, or blocked the business) → `Blocked`;
- 131056 (pair rate: too many to this person) → `RetryAfter` for this person only;
- 130429 (throughput) → `RetryAfter` for all; 5xx and the network → `Transient`;
- 131047 (outside the 24-hour window) → the template (above);
- anything else refused → `Refused`.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.channels.base import Blocked, InPart, Refused, RetryAfter, SendError, Transient
from bot.channels.telegram import TRANSLATED, channel_error, send_outgoing
from bot.channels.whatsapp.client import WaApiError, WaClient
from bot.channels.whatsapp.contacts import ContactBook
from bot.channels.whatsapp.session import (
    BLOCKED_CODES,
    PAIR_RATE_CODE,
    PAIR_RATE_WAIT,
    THROUGHPUT_CODE,
    WhatsAppSession,
)
from bot.notices import templates
from bot.services import owed
from bot.services.delivery import OutgoingMessage
from db.base import utcnow
from db.models import Delivery, User
from db.models.whatsapp import WHATSAPP, WaContact

OUTSIDE_WINDOW_CODE = 131047
WINDOW = timedelta(hours=24)
WINDOW_CACHE = timedelta(seconds=60)  # how long a person's window state is trusted
WINDOW_CACHE_SIZE = 50_000
WINDOW_BATCH = 1_000  # claimed rows whose people are read with one query
IMAGE_CACHE = timedelta(days=1)  # an uploaded photo's media id is reused (Meta keeps 30 days)
ACKNOWLEDGEABLE = (templates.ANNOUNCEMENT, templates.REMINDER)
logger = logging.getLogger(__name__)


class WhatsAppChannel:
    name = WHATSAPP
    can_edit = False  # a sent WhatsApp message cannot be changed: progress comes anew

    def __init__(self, bot: Bot, client: WaClient | None = None,
                 contacts: ContactBook | None = None,
                 sessionmaker: async_sessionmaker | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.bot, self.client, self.contacts = bot, client, contacts
        self.sessionmaker, self.clock = sessionmaker, clock
        self.templates_sent = 0
        # address → (last inbound, locale, when read): see _load_windows
        self._windows: dict[int, tuple[datetime | None, str | None, datetime]] = {}
        self._images: dict[str, tuple[str, datetime]] = {}  # file id → (media id, uploaded)

    async def send(self, address: int, message: OutgoingMessage,
                   document: bytes | None = None) -> int | None:
        sent = await self.send_queued(address, message, document)
        return sent.message_id if isinstance(sent, InPart) else sent

    async def send_queued(self, address: int, message: OutgoingMessage,
                          document: bytes | None = None, kind: str | None = None,
                          ) -> int | InPart | None:
        """A queued row: free-form inside the 24-hour window, else the template of `kind`
        (the row's source_type); `InPart` if that template left part of it out."""
        if kind == owed.FULL:  # queued because they just wrote: not the window cached before
            self._windows.pop(address, None)
        inside, locale = await self._window(address)
        if not inside:
            return await self._template(address, message, document, kind, locale)
        try:
            return await send_outgoing(self.bot, address, message, document)
        except TRANSLATED as exc:
            cause = exc.__cause__
            if isinstance(cause, WaApiError) and cause.code == OUTSIDE_WINDOW_CODE \
                    and self.client is not None:
                return await self._template(address, message, document, kind, locale)
            raise whatsapp_error(exc) from exc

    async def account_templates(self) -> list[tuple[templates.Template, str]]:
        """The templates the bot needs, each with its state on the business account."""
        if self.client is None:
            raise Refused("no WhatsApp client")
        return templates.check(await self.client.templates())

    async def edit(self, address: int, message_id: int, message: OutgoingMessage) -> None:
        raise Refused("a WhatsApp message cannot be edited")

    async def _window(self, address: int) -> tuple[bool, str | None]:
        """Whether the person wrote within 24 hours, and their language. Unknown here (no
        database, or no such contact): inside; the Cloud API's answer decides."""
        if self.sessionmaker is None or self.client is None:
            return True, None
        now = self.clock()
        known = self._windows.get(address)
        if known is None or now - known[2] > WINDOW_CACHE:
            await self._load_windows(address, now)
            known = self._windows.get(address)
        if known is None:
            return True, None
        last, locale, _ = known
        return last is not None and now - last < WINDOW, locale

    async def _load_windows(self, address: int, now: datetime) -> None:
        """One query for this person and everyone else the worker has claimed for WhatsApp
        (a broadcast's next rows): per claim, not per send. A stale entry errs safely: a
        template for someone who just wrote, or 131047 and then the template."""
        if len(self._windows) > WINDOW_CACHE_SIZE:
            self._windows.clear()
        claimed = select(Delivery.chat_id).where(
            Delivery.status == "sending", Delivery.channel == WHATSAPP).limit(WINDOW_BATCH)
        async with self.sessionmaker() as session:  # type: ignore[misc]
            rows = (await session.execute(
                select(WaContact.id, WaContact.address, WaContact.menu,
                       WaContact.last_inbound_at, User.locale)
                .select_from(WaContact).outerjoin(User, User.chat_id == -WaContact.id)
                .where(or_(WaContact.id == -address,
                           (-WaContact.id).in_(claimed.scalar_subquery()))))).all()
        for contact_id, to, menu, last, locale in rows:
            self._windows[-contact_id] = (last, locale, now)
            if self.contacts is not None:
                self.contacts.remember(-contact_id, to, menu)

    async def _template(self, address: int, message: OutgoingMessage, document: bytes | None,
                        kind: str | None, locale: str | None) -> InPart | None:
        client, contacts = self.client, self.contacts
        if client is None or contacts is None:
            raise Refused("outside WhatsApp's 24-hour window (no template sender)")
        to = await contacts.address_of(address)
        if to is None:
            raise Refused("chat not found")
        which = templates.kind_of(kind)
        data = document or _stored_document(message)
        if which == templates.CERTIFICATE_READY and data is None:
            which = templates.ANNOUNCEMENT  # the certificate template needs its PDF
        ack = templates.ack_of(message) if which in ACKNOWLEDGEABLE else None
        text = _text_of(message)
        param = templates.one_line(text, html_text=message.html)
        try:
            header = await self._header(which, message, data)
            photo = header is not None and header["type"] == "image"
            chosen = templates.name_of(which, photo=photo,
                                       ack=ack[0] if ack else None)
            await client.send_template(to, chosen, templates.language_of(locale),
                                       templates.components(param, header,
                                                            ack[1] if ack else None))
        except WaApiError as exc:
            raise api_error(exc) from exc
        self.templates_sent += 1
        # a wamid is no integer message id: None either way
        if templates.left_out(message, text, header["type"] if header else None, bool(ack)):
            return InPart()
        return None

    async def _header(self, which: str, message: OutgoingMessage,
                      data: bytes | None) -> dict[str, Any] | None:
        """The template's header media: a certificate's PDF, an announcement's photo."""
        assert self.client is not None
        if which == templates.CERTIFICATE_READY and data is not None:
            filename = message.filename or "certificate.pdf"
            media_id = await self.client.upload(data, filename, "application/pdf")
            return {"type": "document", "document": {"id": media_id, "filename": filename}}
        photo = templates.image_of(message) if which == templates.ANNOUNCEMENT else None
        if photo is None:
            return None
        media_id = await self._image_id(photo)
        return {"type": "image", "image": {"id": media_id}} if media_id else None

    async def _image_id(self, file_id: str) -> str | None:
        """A WhatsApp media id for a broadcast's photo (a Telegram file id or a stored one),
        uploaded once per IMAGE_CACHE: one upload for a whole broadcast. None: it cannot be
        fetched (the template then goes without it)."""
        now = self.clock()
        known = self._images.get(file_id)
        if known is not None and now - known[1] < IMAGE_CACHE:
            return known[0]
        session = self.bot.session
        if not isinstance(session, WhatsAppSession) or self.client is None:
            return None
        try:
            source, filename, mime = await session.source_of(self.bot, file_id)
        except WaApiError:  # a stored photo erased since (/deleteme of its sender)
            return None
        except TRANSLATED as exc:
            error = channel_error(exc)
            if isinstance(error, (Transient, RetryAfter)):
                raise error from exc
            logger.warning("a broadcast's photo could not be fetched: %s", type(exc).__name__)
            return None
        media_id = source if isinstance(source, str) else await self.client.upload(
            source, filename or "photo.jpg", mime or "image/jpeg")
        if len(self._images) > WINDOW_CACHE_SIZE:
            self._images.clear()
        self._images[file_id] = (media_id, now)
        return media_id


def _text_of(message: OutgoingMessage) -> str | None:
    if message.text:
        return message.text
    for item in message.media or []:
        if item.get("caption"):
            return str(item["caption"])
    return None


def _stored_document(message: OutgoingMessage) -> bytes | None:
    if message.kind == "document" and message.document_bytes_b64:
        return base64.b64decode(message.document_bytes_b64)
    return None


def api_error(exc: WaApiError) -> SendError:
    """A Cloud API error met outside aiogram (template sends) as the queue's outcome."""
    text = f"WhatsApp {exc}"
    if exc.code in BLOCKED_CODES:
        return Blocked(text)
    if exc.code == PAIR_RATE_CODE:
        return RetryAfter(PAIR_RATE_WAIT, per_recipient=True)
    if exc.code == THROUGHPUT_CODE:
        return RetryAfter(1)
    if exc.transient:
        return Transient(text)
    return Refused(text)


def whatsapp_error(exc: BaseException) -> SendError:
    cause = exc.__cause__
    if isinstance(cause, WaApiError):
        if cause.code == PAIR_RATE_CODE:
            return RetryAfter(PAIR_RATE_WAIT, per_recipient=True)
        if cause.code == OUTSIDE_WINDOW_CODE:
            return Refused("outside WhatsApp's 24-hour window (a template is needed)")
    return channel_error(exc)
