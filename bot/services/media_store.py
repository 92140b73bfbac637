"""The media store: files people sent over WhatsApp, downloaded when they arrive (WhatsApp
media ids expire), kept under <data folder>/media by their sha256 (db.models.media).

Such a file is known everywhere else by a file id of its own, `store:<sha256>`: entries,
/review, exports and broadcasts keep it as they keep a Telegram file id; the transports
turn it back into the bytes when they send it (bot.channels.stored_media for Telegram,
bot.channels.whatsapp.session for WhatsApp). /deleteme erases a person's stored files
(`erase_media`): their rows at once, the files no other row names once the erasure is
committed (a rolled-back erasure loses nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot.datadir import private_folder, write_private_file
from bot.db_context import current_session
from db.models.media import StoredMedia

logger = logging.getLogger(__name__)

PREFIX = "store:"
FOLDER = "media"
_UNLINK = "media_store_unlink"  # Session.info key: files to delete once committed


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    mime: str
    size: int
    filename: str | None


def is_stored(file_id: object) -> bool:
    return isinstance(file_id, str) and file_id.startswith(PREFIX) and len(file_id) == 70


def file_id_of(sha256: str) -> str:
    return f"{PREFIX}{sha256}"


def media_folder() -> Path:
    return private_folder(FOLDER)


def _path(folder: Path, sha256: str) -> Path:
    return folder / sha256


class MediaStore:
    def __init__(self, sessionmaker: async_sessionmaker, folder: Path | None = None) -> None:
        self.sessionmaker = sessionmaker
        self.folder = folder or media_folder()

    async def put(self, owner_id: int, data: bytes, mime: str,
                  filename: str | None = None) -> str:
        """Keep `data` sent by `owner_id`; its file id."""
        sha256 = hashlib.sha256(data).hexdigest()
        path = _path(self.folder, sha256)
        if not path.exists():
            await asyncio.to_thread(write_private_file, path, data)
        async with self.sessionmaker() as session:
            exists = await session.scalar(select(StoredMedia.id).where(
                StoredMedia.sha256 == sha256, StoredMedia.owner_id == owner_id))
            if exists is None:
                session.add(StoredMedia(sha256=sha256, owner_id=owner_id, mime=mime[:100],
                                        size=len(data), filename=(filename or None)
                                        and filename[:200]))
                try:
                    await session.commit()
                except IntegrityError:  # the same file from them, stored a moment ago
                    await session.rollback()
        return file_id_of(sha256)

    async def get(self, file_id: str) -> StoredFile | None:
        """The file behind a `store:` id; None if it is not (or no longer) stored."""
        if not is_stored(file_id):
            return None
        sha256 = file_id[len(PREFIX):]
        async with self._reading() as session:
            row = (await session.execute(
                select(StoredMedia.mime, StoredMedia.size, StoredMedia.filename)
                .where(StoredMedia.sha256 == sha256).limit(1))).first()
        path = _path(self.folder, sha256)
        if row is None or not path.is_file():
            return None
        data = await asyncio.to_thread(path.read_bytes)
        return StoredFile(data, row.mime, row.size, row.filename)

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncSession]:
        """The update's session when there is one (SQLite has one connection, which it may
        hold: bot.db_context), else one of our own."""
        session = current_session.get(None)
        if session is not None:
            yield session
            return
        async with self.sessionmaker() as own:
            yield own


async def erase_media(session: AsyncSession, owner_id: int | None,
                      folder: Path | None = None) -> None:
    """Forget the files `owner_id` sent: their rows now, the files once committed (unless
    someone else sent the very same bytes)."""
    if owner_id is not None:
        await erase_media_of(session, [owner_id], folder)


async def erase_media_of(session: AsyncSession, owner_ids: list[int],
                         folder: Path | None = None) -> None:
    """erase_media for several people at once (the retention tick's batch)."""
    if not owner_ids:
        return
    theirs = StoredMedia.owner_id.in_(owner_ids)
    mine = set((await session.scalars(select(StoredMedia.sha256).where(theirs))).all())
    if not mine:
        return
    await session.execute(delete(StoredMedia).where(theirs))
    shared = set((await session.scalars(select(StoredMedia.sha256).where(
        StoredMedia.sha256.in_(mine)))).all())
    unlink = session.info.setdefault(_UNLINK, [])
    unlink.extend(_path(folder or media_folder(), sha) for sha in mine - shared)


@event.listens_for(Session, "after_commit")
def _unlink_committed(session: Session) -> None:
    for path in session.info.pop(_UNLINK, []):
        try:
            path.unlink(missing_ok=True)
        except OSError:  # logged, not raised: the commit has happened
            logger.exception("stored media %s could not be deleted", path.name)


@event.listens_for(Session, "after_rollback")
def _unlink_rolled_back(session: Session) -> None:
    session.info.pop(_UNLINK, None)
