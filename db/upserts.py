"""INSERT … ON CONFLICT for the two databases the bot runs on, SQLite and PostgreSQL: both
spell it the same way, through their own dialect's `insert`."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind else "sqlite"


def insert_for(session: AsyncSession) -> Callable[..., Any]:
    """The dialect's `insert`, which has on_conflict_do_nothing / on_conflict_do_update."""
    return insert_for_dialect(dialect_name(session))


def insert_for_dialect(dialect: str) -> Callable[..., Any]:
    return pg_insert if dialect == "postgresql" else sqlite_insert


@cache
def insert_or_skip(table: Table, dialect: str, *key: str) -> Any:
    """INSERT … ON CONFLICT (key) DO NOTHING, built once per table and dialect: it runs on
    hot paths, and building a statement costs more than running it. rowcount tells whether
    the row was new."""
    return insert_for_dialect(dialect)(table).on_conflict_do_nothing(
        index_elements=[table.c[name] for name in key])
