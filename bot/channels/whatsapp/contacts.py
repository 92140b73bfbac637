"""WhatsApp people as the bot knows them: address ↔ negative id, and their last numbered
menu (db.models.whatsapp explains the ids).

Reads and writes go through the update's own session when there is one (bot.db_context):
SQLite has one connection, which that session may hold; elsewhere (the delivery worker) a
short session of their own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db_context import current_session
from bot.services import owed
from db.base import utcnow
from db.models.core import User
from db.models.delivery import OwedMessage
from db.models.whatsapp import WaContact

CACHE_LIMIT = 50_000  # addresses kept in memory; forgotten all at once beyond (re-read)
# last_inbound_at is rewritten at most this often: one write per message would double the
# writes of a conversation, and the 24-hour window only gets this much shorter (the safe side)
INBOUND_PRECISION = timedelta(minutes=5)
# whether messages are owed to them in full (bot.services.owed): read with the contact
OWED = exists().where(OwedMessage.chat_id == -WaContact.id).label("owes")


@dataclass
class Contact:
    ext_id: int  # the chat: what aiogram and the bot's tables know them by (negative)
    address: str
    menu: list[str] | None
    person_id: int = 0  # who is talking: users.tg_id of the person linked (/link), else ext_id

    def __post_init__(self) -> None:
        self.person_id = self.person_id or self.ext_id


class ContactBook:
    def __init__(self, sessionmaker: async_sessionmaker,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sessionmaker, self.clock = sessionmaker, clock
        self._addresses: dict[int, str] = {}
        self._menus: dict[int, list[str] | None] = {}

    async def arrive(self, address: str, wa_id: str | None) -> Contact:
        """The contact who just wrote (created at their first message); notes the time, from
        which WhatsApp's 24-hour window for free-form messages runs, and queues what is owed
        to them in full now that the window is open (bot.services.owed)."""
        async with self._session(write=True) as session:
            found = (await session.execute(
                select(WaContact, User.tg_id, OWED).outerjoin(User, User.id == WaContact.user_id)
                .where(WaContact.address == address))).first()
            row, person_id, owes = found if found is not None else (None, None, False)
            if row is None:
                row = await self._create(session, address, wa_id)
            now = self.clock()
            if row.last_inbound_at is None or now - row.last_inbound_at >= INBOUND_PRECISION:
                row.last_inbound_at = now
            if wa_id and row.wa_id != wa_id:
                row.wa_id = wa_id
            if owes:  # the window is open again: what their templates left out comes whole
                await owed.bring(session, row.ext_id, row.user_id, now)
            contact = Contact(row.ext_id, row.address, row.menu, person_id or 0)
        self._remember(contact.ext_id, address)
        self._menus[contact.ext_id] = contact.menu
        return contact

    async def _create(self, session: AsyncSession, address: str,
                      wa_id: str | None) -> WaContact:
        row = WaContact(address=address, wa_id=wa_id)
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:  # their other message, handled at the same moment, won
            row = (await session.scalars(
                select(WaContact).where(WaContact.address == address))).one()
        return row

    async def address_of(self, ext_id: int) -> str | None:
        """Where to send to this person; None once they are erased (/deleteme)."""
        if ext_id in self._addresses:
            return self._addresses[ext_id]
        async with self._session() as session:
            address = await session.scalar(
                select(WaContact.address).where(WaContact.id == -ext_id))
        if address is not None:
            self._remember(ext_id, address)
        return address

    async def set_menu(self, ext_id: int, menu: list[str] | None) -> None:
        """The numbered menu just sent (None: the last message had none)."""
        if ext_id in self._menus and self._menus[ext_id] == menu:
            return
        async with self._session(write=True) as session:
            await session.execute(update(WaContact).where(WaContact.id == -ext_id)
                                  .values(menu=menu))
        self._menus[ext_id] = menu

    def forget(self, ext_id: int) -> None:
        self._addresses.pop(ext_id, None)
        self._menus.pop(ext_id, None)

    def remember(self, ext_id: int, address: str, menu: list[str] | None) -> None:
        """A contact read elsewhere (the delivery channel reads many at once)."""
        self._remember(ext_id, address)
        self._menus[ext_id] = menu

    def _remember(self, ext_id: int, address: str) -> None:
        if len(self._addresses) > CACHE_LIMIT:
            self._addresses.clear()
            self._menus.clear()
        self._addresses[ext_id] = address

    @contextlib.asynccontextmanager
    async def _session(self, write: bool = False) -> AsyncIterator[AsyncSession]:
        """The update's session (it commits with the update), else one of our own."""
        session = current_session.get(None)
        if session is not None:
            yield session
            if write:
                await session.flush()
            return
        async with self.sessionmaker() as own:
            yield own
            if write:
                await own.commit()
