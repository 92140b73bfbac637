"""gettext catalogs compiled from locales/<lang>/LC_MESSAGES/*.po at start-up.

Each feature keeps its own .po file (core.po, broadcast.po, ...); all files of a language
are merged into one translation, so no compile step or committed .mo files are needed.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Generator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from aiogram.utils.i18n import I18n
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = ("kk", "ru", "en")
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}


def merged_catalog(lang_dir: Path, locale: str) -> Catalog:
    merged = Catalog(locale=locale)
    for po_path in sorted((lang_dir / "LC_MESSAGES").glob("*.po")):
        with po_path.open("rb") as fh:
            for message in read_po(fh, locale=locale):
                if message.id and message.string:
                    merged[message.id] = message
    return merged


_COMPILED: dict[tuple[object, ...], bytes] = {}


def compiled_catalog(lang_dir: Path) -> bytes:
    """The language's merged .mo, compiled once per process while the .po files are unchanged
    (parsing them costs ~0.5 s, and tests build many apps)."""
    files = sorted((lang_dir / "LC_MESSAGES").glob("*.po"))
    key = (str(lang_dir), *((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files))
    if key not in _COMPILED:
        buf = io.BytesIO()
        write_mo(buf, merged_catalog(lang_dir, lang_dir.name))
        _COMPILED[key] = buf.getvalue()
    return _COMPILED[key]


class PoI18n(I18n):
    """aiogram's I18n reading .po sources directly."""

    @contextmanager
    def context(self) -> Generator[I18n, None, None]:
        # aiogram's gettext() looks up I18n's own context slot, not a subclass's.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        for lang_dir in sorted(self.path.iterdir()):
            if lang_dir.is_dir():
                translations[lang_dir.name] = gettext.GNUTranslations(
                    io.BytesIO(compiled_catalog(lang_dir)))
        return translations

    def t(self, locale: str, msgid: str, **kwargs: Any) -> str:
        """Translate for a given locale (services sending to other people use this)."""
        text = self.gettext(msgid, locale=locale)
        return text.format(**kwargs) if kwargs else text


def create_i18n(default_locale: str = "kk") -> PoI18n:
    return PoI18n(path=LOCALES_DIR, default_locale=default_locale, domain="messages")


def fmt_int(value: int | float, locale: str) -> str:
    """Numbers as each language writes them (kk/ru: 3 531, en: 3,531)."""
    return format_decimal(value, locale={"kk": "kk_KZ", "ru": "ru_RU"}.get(locale, "en_US"))


def fmt_dt(value: datetime, locale: str, tz: Any) -> str:
    """A UTC moment shown in local time: 12.03.2026 15:00."""
    return value.astimezone(tz).strftime("%d.%m.%Y %H:%M")
