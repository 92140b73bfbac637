"""aiogram's I18n over the project's gettext catalogs (bot.translator), for handlers' `_()`.

Each feature keeps its own .po file (core.po, broadcast.po, ...); all files of a language
are merged into one translation, so no compile step or committed .mo files are needed.
"""

from __future__ import annotations

import gettext
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiogram.utils.i18n import I18n

from bot.translator import (
    LANGUAGE_NAMES,
    LANGUAGES,
    LOCALES_DIR,
    SPEAKING,
    Translator,
    compiled_catalog,
    fmt_dt,
    fmt_int,
    load_catalogs,
    merged_catalog,
)

__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "LOCALES_DIR", "PoI18n", "compiled_catalog",
           "create_i18n", "fmt_dt", "fmt_int", "merged_catalog"]


class PoI18n(I18n):
    """aiogram's I18n reading .po sources directly; `translator` reads the same catalogs."""

    def __init__(self, *, path: str | Path, default_locale: str = "en",
                 domain: str = "messages") -> None:
        super().__init__(path=path, default_locale=default_locale, domain=domain)
        self.translator = Translator(self.locales)

    @contextmanager
    def context(self) -> Generator[I18n, None, None]:
        # aiogram's gettext() looks up I18n's own context slot, not a subclass's.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    @contextmanager
    def use_locale(self, locale: str) -> Generator[None, None, None]:
        # bot.labels' texts (bot.translator.lazy) speak the handler's locale too; one
        # context manager, not two nested: this runs for every update
        ctx_token = self.ctx_locale.set(locale)
        speaking_token = SPEAKING.set((self.translator, locale))
        try:
            yield
        finally:
            SPEAKING.reset(speaking_token)
            self.ctx_locale.reset(ctx_token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        return load_catalogs(self.path)

    def t(self, locale: str, msgid: str, **kwargs: Any) -> str:
        """Translate for a given locale (bot.translator.Translator.t)."""
        return self.translator.t(locale, msgid, **kwargs)

    def reload(self) -> None:
        super().reload()
        self.translator = Translator(self.locales)


def create_i18n(default_locale: str = "kk") -> PoI18n:
    return PoI18n(path=LOCALES_DIR, default_locale=default_locale, domain="messages")
