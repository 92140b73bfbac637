"""Notices: what the bot tells people other than the one talking, and the ticks that send it.

Each module builds its per-locale `OutgoingMessage`s (bot.services.delivery: texts and
buttons, no messenger's objects) and queues them in the delivery queue, which sends each row
through the channel it names. Modules: approvals (coordinator requests, staff rights,
guardians), challenges, webinars, broadcasts, digest.

A tick here takes the running bot's parts as `NoticeContext` (bot.app.App is one): notices
know no App, services know no notices (tests/test_architecture.py R3, R4).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.base import Channel
from bot.config import Settings
from bot.services.delivery import OutgoingMessage
from bot.services.places import PlaceDirectory
from bot.translator import LANGUAGES, Translator
from db.models import BotState


@dataclass(frozen=True)
class Voice:
    """How notices speak: the translator, the local time zone, the default language."""

    translator: Translator
    tz: ZoneInfo
    default_locale: str = "kk"

    def t(self, locale: str, msgid: str, **kwargs: Any) -> str:
        return self.translator.t(locale, msgid, **kwargs)

    def tn(self, locale: str, singular: str, plural: str, n: int, **kwargs: Any) -> str:
        return self.translator.tn(locale, singular, plural, n, **kwargs)

    def label(self, locale: str, table: Mapping[str, str], key: str | None,
              other: str = "—") -> str:
        """The name of a code from `table` (code -> msgid marked N_), in `locale`; `other`
        for a code the table lacks."""
        return self.t(locale, table[key]) if key in table else other

    @property
    def locales(self) -> tuple[str, ...]:
        """Every language, the default first: its payload serves unknown locales (the queue
        falls back to the first payload)."""
        default = self.default_locale
        return (default, *(x for x in LANGUAGES if x != default))

    def by_locale(self, build: Callable[[str], OutgoingMessage]) -> dict[str, OutgoingMessage]:
        """One payload per language, the default language first (used for unknown locales)."""
        return {loc: build(loc) for loc in self.locales}


class NoticeContext(Protocol):
    """The parts of the running bot a notice tick uses (bot.app.App has them all)."""

    settings: Settings
    sessionmaker: async_sessionmaker
    places: PlaceDirectory
    channels: dict[str, Channel]
    progress_shown: dict[int, str]

    @property
    def voice(self) -> Voice: ...

    def now(self) -> datetime: ...

    def read_session(self) -> AsyncSession: ...


async def reached(session: AsyncSession, state_key: str, mark: str) -> bool:
    """A periodic notice's bookmark (bot_state): has a tick already sent it for `mark` (a
    week, a date) or a later one? Marks compare as strings, so they are written sortably."""
    state = await session.get(BotState, state_key)
    return state is not None and state.value >= mark


async def mark_reached(session: AsyncSession, state_key: str, mark: str) -> None:
    state = await session.get(BotState, state_key)
    if state is None:
        session.add(BotState(key=state_key, value=mark))
    else:
        state.value = mark
