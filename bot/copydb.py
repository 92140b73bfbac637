"""`python -m bot copy-db --to URL`: copy the whole database into another (SQLite → PostgreSQL).

The destination is migrated to head first; it must hold no data of its own (rows the
migrations seed, such as regions, are replaced by the source's). Tables are copied parents
first, in batches; a column pointing into its own table (users.approved_by) is filled in a
second pass, so row order never trips a foreign key. PostgreSQL sequences are then moved past
the copied ids. The source is only read, and must already be at the latest migration.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.engine import create_engine
from db.migrate import upgrade_async
from db.models import Base

logger = logging.getLogger(__name__)
BATCH = 2000
# Tables with any of these rows are someone's live data, not what migrations seed.
LIVE_DATA_TABLES = ("users", "deliveries", "activity_log")


class CopyDbError(Exception):
    """The copy cannot start; the message says why."""


async def _revision(conn: AsyncConnection) -> str | None:
    try:
        return await conn.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception:
        return None


async def _check_destination_empty(conn: AsyncConnection) -> None:
    tables = Base.metadata.tables
    for name in LIVE_DATA_TABLES:
        if name in tables and await conn.scalar(select(func.count()).select_from(tables[name])):
            raise CopyDbError(f"the destination already holds data (table {name}); "
                              "copy into an empty database")


def _self_references(table: Table) -> list[str]:
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


Deferred = list[tuple[object, list[dict[str, Any]]]]


def _insert_for(table: Table) -> object:
    # SQL NULL stays SQL NULL in JSON columns (the plain JSON type would store 'null').
    json_cols = {c.name: bindparam(c.name, type_=JSON(none_as_null=True))
                 for c in table.columns if isinstance(c.type, JSON)}
    return insert(table).values(json_cols) if json_cols else insert(table)


async def _copy_table(src: AsyncConnection, dst: AsyncConnection, table: Table,
                      deferred: Deferred) -> int:
    later = _self_references(table)
    pk = list(table.primary_key.columns)
    stmt = _insert_for(table)
    copied = 0
    result = await src.stream(select(table).order_by(*pk))
    async for rows in result.partitions(BATCH):
        batch = [dict(row._mapping) for row in rows]
        parked = [{**{f"k_{c.name}": r[c.name] for c in pk}, **{c: r[c] for c in later}}
                  for r in batch if any(r[c] is not None for c in later)]
        for r in batch:
            r.update(dict.fromkeys(later))
        await dst.execute(stmt, batch)
        if parked:
            # The row pointed to may come in a later batch: set these links at the end.
            fix = update(table).where(*(c == bindparam(f"k_{c.name}") for c in pk))
            deferred.append((fix.values({c: bindparam(c) for c in later}), parked))
        copied += len(batch)
    return copied


async def _fix_sequences(dst: AsyncConnection) -> None:
    if dst.dialect.name != "postgresql":
        return
    for table in Base.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or pk[0].autoincrement is False or not _is_integer(pk[0]):
            continue
        seq = await dst.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"),
                               {"t": table.name, "c": pk[0].name})
        if seq is None:
            continue
        await dst.execute(text(
            f'SELECT setval(:seq, COALESCE((SELECT MAX("{pk[0].name}") FROM "{table.name}"), 0)'
            " + 1, false)"), {"seq": seq})


def _is_integer(column: object) -> bool:
    try:
        return column.type.python_type is int  # type: ignore[attr-defined]
    except NotImplementedError:
        return False


async def copy_db(src_url: str, dst_url: str,
                  progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy every table from src to dst; returns rows copied per table."""
    if src_url == dst_url:
        raise CopyDbError("source and destination are the same database")
    await upgrade_async(dst_url)
    src_engine: AsyncEngine = create_engine(src_url)
    dst_engine: AsyncEngine = create_engine(dst_url)
    counts: dict[str, int] = {}
    try:
        async with src_engine.connect() as src, dst_engine.begin() as dst:
            if await _revision(src) != await _revision(dst):
                raise CopyDbError("the source database is not at the latest migration; "
                                  "run `python -m bot migrate` on it first")
            await _check_destination_empty(dst)
            tables = Base.metadata.sorted_tables
            for table in reversed(tables):
                await dst.execute(delete(table))
            deferred: Deferred = []
            for table in tables:
                counts[table.name] = await _copy_table(src, dst, table, deferred)
                if progress is not None:
                    progress(table.name, counts[table.name])
                logger.info("copied %s: %d rows", table.name, counts[table.name])
            for fix, rows in deferred:
                await dst.execute(fix, rows)
            await _fix_sequences(dst)
    finally:
        await src_engine.dispose()
        await dst_engine.dispose()
    return counts
