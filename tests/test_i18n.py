"""Every message id in the code has a translation in kk, ru and en."""

import pytest

from bot.i18n import LANGUAGES
from bot.i18n_tools import missing


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(lang):
    lacking = missing(lang)
    assert not lacking, f"{len(lacking)} untranslated in {lang}, e.g. " + "; ".join(
        f"{loc}: {msgid[:60]!r}" for msgid, loc in list(lacking.items())[:5])
