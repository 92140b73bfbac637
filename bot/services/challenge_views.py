"""Read-only copies of challenge rows for the submission path, kept a couple of seconds.

Every step of sending an entry checks the challenge (open? deadline? audience? kinds? limit?)
and a thousand people sending at once would load the same row thousands of times. A change
made through this process (ORM flush, or an UPDATE/DELETE statement on challenges) drops the
copies at once; another process's change is seen within TTL seconds — and the deadline itself
is compared with the clock, so a passed deadline never lets an entry in.
"""

from __future__ import annotations

import copy
import time
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, object_session

from bot.services.errors import DomainError
from db.models import Challenge

TTL = 2.0
_copies: WeakKeyDictionary[Engine, dict[int, tuple[float, Challenge]]] = WeakKeyDictionary()


def _for(engine: Engine) -> dict[int, tuple[float, Challenge]]:
    return _copies.setdefault(engine, {})


async def challenge_view(session: AsyncSession, challenge_id: int) -> Challenge:
    """A detached copy of the challenge — read it, never change it."""
    copies = _for(session.bind.sync_engine)
    now = time.monotonic()
    hit = copies.get(challenge_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    row = await session.get(Challenge, challenge_id)
    if row is None:
        raise DomainError("not_found")
    view = Challenge(**{attr.key: copy.deepcopy(getattr(row, attr.key))
                        for attr in inspect(Challenge).column_attrs})
    copies[challenge_id] = (now + TTL, view)
    return view


def forget(engine: Engine | None) -> None:
    if engine is not None:
        _copies.pop(engine, None)


# Copies are dropped when the change is written and again when its transaction ends: a
# reader in between (another connection on PostgreSQL, or the writer's own session) may have
# copied the row as it was before the commit, or as it was before a rollback.
CHANGED = "challenge_changed"


@event.listens_for(Challenge, "after_update")
@event.listens_for(Challenge, "after_delete")
def _changed(_mapper: Any, connection: Any, target: Challenge) -> None:
    forget(connection.engine)
    session = object_session(target)
    if session is not None:
        session.info[CHANGED] = connection.engine


@event.listens_for(Session, "do_orm_execute")
def _statement(state: ORMExecuteState) -> None:
    # ORM-enabled statements carry an annotated copy of the table: compare by name.
    table = getattr(state.statement, "table", None)
    if (state.is_update or state.is_delete) and getattr(table, "name", None) == _TABLE_NAME:
        engine = state.session.get_bind()
        forget(engine)
        state.session.info[CHANGED] = engine


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_ended(session: Session) -> None:
    forget(session.info.pop(CHANGED, None))


_TABLE_NAME = Challenge.__tablename__
