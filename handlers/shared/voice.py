"""How notices speak, from a handler's typed data (the broadcast and webinar handlers)."""

from __future__ import annotations

from bot.config import Settings
from bot.i18n import PoI18n
from bot.notices import Voice


def voice_of(settings: Settings, i18n: PoI18n) -> Voice:
    """How notices speak (as App.voice builds it), from the handler's typed data."""
    return Voice(i18n.translator, settings.tz, settings.default_locale)
