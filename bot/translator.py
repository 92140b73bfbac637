"""The one translator of services, notices and keyboards: `t(locale, msgid, **kw)` and
`tn(locale, singular, plural, n, **kw)` over the project's gettext catalogs
(locales/<lang>/LC_MESSAGES/*.po, all files of a language merged, compiled in memory).

Aiogram-free. Handlers keep aiogram's `_()` (bot.i18n.PoI18n reads the same catalogs and,
while it speaks a locale, lets `lazy()` texts such as bot.labels' speak it too).
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import LazyProxy

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = ("kk", "ru", "en")
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}  # each in its own language


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


def load_catalogs(path: Path = LOCALES_DIR) -> dict[str, gettext.GNUTranslations]:
    """Every language folder under `path`, by its name."""
    return {lang_dir.name: gettext.GNUTranslations(io.BytesIO(compiled_catalog(lang_dir)))
            for lang_dir in sorted(path.iterdir()) if lang_dir.is_dir()}


class Translator:
    """Texts for a given locale, e.g. of a person the bot writes to. An unknown locale
    gets the message id itself (English), as aiogram's I18n does."""

    def __init__(self, catalogs: Mapping[str, gettext.NullTranslations]) -> None:
        self.catalogs = catalogs

    def t(self, locale: str, msgid: str, **kwargs: Any) -> str:
        catalog = self.catalogs.get(locale)
        text = catalog.gettext(msgid) if catalog is not None else msgid
        return text.format(**kwargs) if kwargs else text

    def tn(self, locale: str, singular: str, plural: str, n: int, **kwargs: Any) -> str:
        catalog = self.catalogs.get(locale)
        if catalog is not None:
            text = catalog.ngettext(singular, plural, n)
        else:
            text = singular if n == 1 else plural
        return text.format(**kwargs) if kwargs else text


@cache
def translator() -> Translator:
    """The project's catalogs, loaded once per process."""
    return Translator(load_catalogs())


# --- texts translated when shown (tables of labels) ----------------------------------------
# (translator, locale) while a locale is spoken; set by `speaking` and PoI18n.use_locale
SPEAKING: ContextVar[tuple[Translator, str] | None] = ContextVar("speaking", default=None)


@contextmanager
def speaking(t: Translator, locale: str) -> Generator[None, None, None]:
    """While inside, `lazy()` texts are shown in `locale` (PoI18n.use_locale enters it)."""
    token = SPEAKING.set((t, locale))
    try:
        yield
    finally:
        SPEAKING.reset(token)


def N_(msgid: str) -> str:
    """Marks a message id for extraction (bot.i18n_tools); it is translated where shown."""
    return msgid


def _in_current_locale(msgid: str) -> str:
    current = SPEAKING.get()
    return current[0].t(current[1], msgid) if current is not None else msgid


def lazy(msgid: str) -> Any:
    """A text translated each time it is shown, in the locale being spoken (see speaking)."""
    return LazyProxy(_in_current_locale, msgid, enable_cache=False)


# --- numbers and dates, as each language writes them ---------------------------------------
def fmt_int(value: int | float, locale: str) -> str:
    """Numbers as each language writes them (kk/ru: 3 531, en: 3,531)."""
    return format_decimal(value, locale={"kk": "kk_KZ", "ru": "ru_RU"}.get(locale, "en_US"))


def fmt_dt(value: datetime, locale: str, tz: Any) -> str:
    """A UTC moment shown in local time: 12.03.2026 15:00."""
    return value.astimezone(tz).strftime("%d.%m.%Y %H:%M")
