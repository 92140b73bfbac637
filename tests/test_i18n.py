"""Every message id in the code has a translation in kk, ru and en, and every catalog entry
is asked for by the code."""

import pytest

from bot.i18n import LANGUAGES
from bot.i18n_tools import missing, unused


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(lang):
    lacking = missing(lang)
    assert not lacking, f"{len(lacking)} untranslated in {lang}, e.g. " + "; ".join(
        f"{loc}: {msgid[:60]!r}" for msgid, loc in list(lacking.items())[:5])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_catalog_entry_is_left_unused(lang):
    assert unused(lang) == []
