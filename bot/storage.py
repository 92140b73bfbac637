"""FSM storage in the database, so a flow half-way through survives a restart.

Writes join the current update's transaction when there is one (see bot.middlewares), so a
handler's data and its next state commit together; they are held until that commit and then
written once per key (a step usually sets both state and data: one statement, not two or
three). Reads are served from a write-through cache: one process owns its users' states
(several processes use RedisStorage instead); a rolled-back write is dropped from the cache.

Answers left half-way expire FSM_TTL after their last write: a registration abandoned before
consent must not keep a child's school, grade and age band for ever. Here a periodic tick
deletes the rows (bot.scheduler.expire_tick); RedisStorage gets the same TTL (bot.factory).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from sqlalchemy import bindparam, delete, event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot.db_context import current_session
from db.base import utcnow
from db.models import FsmRecord
from db.upserts import insert_for_dialect

PENDING = "fsm_pending"  # Session.info key: {storage key: (storage, state, data)} not written
WRITTEN = "fsm_written"  # written in the transaction being committed, not yet committed
FSM_TTL = timedelta(hours=24)
EXPIRY_EVERY = 3600  # seconds between two expiry rounds: answers live 24 to 25 hours


def key_str(key: StorageKey) -> str:
    return f"{key.bot_id}:{key.chat_id}:{key.user_id}:{key.thread_id or 0}:{key.destiny}"


class SqlStorage(BaseStorage):
    def __init__(self, sessionmaker: async_sessionmaker, cache_size: int = 100_000,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock  # the app's: tests move it
        self._cache: dict[str, tuple[str | None, dict[str, Any]]] = {}
        self._cache_size = cache_size

    async def _load(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
        k = key_str(key)
        if k in self._cache:
            return self._cache[k]
        session = current_session.get(None)
        held = session.info.get(PENDING, {}).get(k) if session is not None else None
        if held is not None:  # the cache was cleared under a held write: the write is newer
            self._remember(k, (held[1], held[2]))
            return held[1], held[2]
        if session is not None:
            record = (await session.execute(_SELECT, {"k": k})).first()
        else:
            async with self.sessionmaker() as own:
                record = (await own.execute(_SELECT, {"k": k})).first()
        value = (record.state, dict(record.data or {})) if record else (None, {})
        self._remember(k, value)
        return value

    def _remember(self, k: str, value: tuple[str | None, dict[str, Any]]) -> None:
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[k] = value

    async def _save(self, key: StorageKey, state: str | None, data: dict[str, Any]) -> None:
        k = key_str(key)
        if state is None and not data and self._cache.get(k) == (None, {}):
            return  # /cancel with nothing to cancel. (Only then: handlers change nested data
            # in place, so "equal to the cache" does not mean "already stored".)
        self._remember(k, (state, data))
        session = current_session.get(None)
        if session is not None:
            session.info.setdefault(PENDING, {})[k] = (self, state, data)
            return
        async with self.sessionmaker() as own, own.begin():
            await own.run_sync(_write, k, state, data, self.clock())

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        _, data = await self._load(key)
        value = state.state if isinstance(state, State) else state
        await self._save(key, value, data)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._load(key))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        state, _ = await self._load(key)
        await self._save(key, state, dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._load(key))[1])

    async def expire(self, before: datetime) -> int:
        """Delete what was last written before `before`; returns how many flows ended."""
        async with self.sessionmaker() as session, session.begin():
            keys = (await session.execute(
                delete(_TABLE).where(_TABLE.c.updated_at < before).returning(_TABLE.c.key)
            )).scalars().all()
        for k in keys:
            self._cache.pop(k, None)
        return len(keys)

    def forget_user(self, user_id: int) -> None:
        for k in [k for k in self._cache if f":{user_id}:" in k]:
            del self._cache[k]

    async def close(self) -> None:
        self._cache.clear()


@event.listens_for(Session, "before_commit")
def _flush_pending(session: Session) -> None:
    written = session.info.pop(PENDING, {})
    for k, (storage, state, data) in written.items():
        _write(session, k, state, data, storage.clock())
    # kept until the COMMIT has succeeded: if it fails, these must leave the cache too
    session.info.setdefault(WRITTEN, {}).update(written)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(WRITTEN, None)


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    for held in (session.info.pop(PENDING, {}), session.info.pop(WRITTEN, {})):
        for k, (storage, _state, _data) in held.items():
            storage._cache.pop(k, None)


def discard_pending(session: AsyncSession) -> None:
    """The update failed before its commit: its FSM writes are dropped, cache included."""
    _forget_pending(session.sync_session)


def has_pending(session: AsyncSession) -> bool:
    return bool(session.info.get(PENDING))


def _write(session: Session, k: str, state: str | None, data: dict, now: datetime) -> None:
    """One statement, no read first: FSM writes sit on every step of every flow."""
    connection = session.connection()
    if state is None and not data:
        connection.execute(_DELETE, {"k": k})
        return
    connection.execute(_upsert(connection.dialect.name),
                       {"key": k, "state": state, "data": data, "updated_at": now})


_TABLE = FsmRecord.__table__
_DELETE = delete(_TABLE).where(_TABLE.c.key == bindparam("k"))
_SELECT = select(_TABLE.c.state, _TABLE.c.data).where(_TABLE.c.key == bindparam("k"))


@cache
def _upsert(dialect: str) -> Any:
    """Built once per dialect, so SQLAlchemy's compiled cache is hit without rebuilding it."""
    stmt = insert_for_dialect(dialect)(_TABLE)
    return stmt.on_conflict_do_update(index_elements=[_TABLE.c.key], set_={
        "state": stmt.excluded.state, "data": stmt.excluded.data,
        "updated_at": stmt.excluded.updated_at})
