"""Every translation keeps the placeholders and HTML tags of its message id.

A lost `{name}` raises KeyError at run time; a broken tag makes Telegram reject the message.
"""

from __future__ import annotations

import re
from gettext import c2py
from pathlib import Path

import pytest
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, LOCALES_DIR

PLACEHOLDER = re.compile(r"\{[^{}]*\}")
TAG = re.compile(r"</?[a-z][a-z0-9-]*")
HEADER = re.compile(r'^msgid ""\nmsgstr ""\n((?:".*"\n)+)', re.MULTILINE)


def catalogs() -> list[Path]:
    return sorted(p for lang in LANGUAGES
                  for p in (LOCALES_DIR / lang / "LC_MESSAGES").glob("*.po"))


@pytest.mark.parametrize("po", catalogs(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_translations_keep_placeholders_and_tags(po):
    lang = po.parent.parent.name
    with po.open("rb") as fh:
        messages = [m for m in read_po(fh, locale=lang) if m.id and m.string]
    for m in messages:
        msgid = m.id if isinstance(m.id, str) else m.id[0]
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for text in strings:
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(msgid)), msgid
            assert sorted(TAG.findall(text)) == sorted(TAG.findall(msgid)), msgid


def test_core_catalogs_exist():
    for lang in LANGUAGES:
        assert (LOCALES_DIR / lang / "LC_MESSAGES" / "core.po").is_file()


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_consent_text_in_every_language(h, lang):
    from handlers.people.registration import consent_text

    with h.app.i18n.context(), h.app.i18n.use_locale(lang):
        text = consent_text("v9")
    assert "(" in text and "v9" in text and "/deleteme" in text and "/profile" in text
    assert text.startswith("<b>") and text.count("</b>") == 1
    assert "<" not in text.replace("<b>", "").replace("</b>", "")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_message_id_has_one_translation_across_files(lang):
    """The files of a language are merged at start, the last one winning: two different
    translations of one message id would show one of them depending on file names."""
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for po in sorted((LOCALES_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for m in read_po(fh, locale=lang):
                if not (m.id and m.string) or not isinstance(m.id, str):
                    continue
                earlier = seen.setdefault(m.id, (po.name, m.string))
                if earlier[1] != m.string:
                    clashes.append((m.id, earlier, (po.name, m.string)))
    assert clashes == []


def header(po: Path) -> dict[str, str]:
    """The header fields of a .po file as written (Babel's Catalog would make up defaults)."""
    raw = HEADER.search(po.read_text(encoding="utf-8"))
    if raw is None:
        return {}
    text = "".join(re.findall(r'^"(.*)"$', raw.group(1), re.MULTILINE)).replace("\\n", "\n")
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


@pytest.mark.parametrize("po", catalogs(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_catalog_declares_its_language_and_plural_forms(po):
    """Translators' tools take nplurals from the header; it must agree with Babel's CLDR data
    (kk and en: one/other, ru: one/few/many), which the running bot uses."""
    lang = po.parent.parent.name
    fields = header(po)
    assert fields.get("Language") == lang
    declared = fields.get("Plural-Forms", "")
    expected = get_plural(lang)
    assert f"nplurals={expected.num_plurals};" in declared.replace(" ", "")
    declared_rule = c2py(declared.split("plural=", 1)[1].rstrip(";"))
    expected_rule = c2py(expected.plural_expr)
    assert [declared_rule(n) for n in range(1000)] == [expected_rule(n) for n in range(1000)]


@pytest.mark.parametrize("po", catalogs(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_plural_entries_have_every_form_of_their_language(po):
    """A count's text (ngettext / tn) needs all nplurals forms: a missing one shows English."""
    lang = po.parent.parent.name
    with po.open("rb") as fh:
        plurals = [m for m in read_po(fh, locale=lang) if isinstance(m.id, tuple)]
    expected = get_plural(lang).num_plurals
    assert [m.id[0] for m in plurals if len(m.string) != expected or not all(m.string)] == []
    if lang == "en":  # the English forms are the message ids themselves
        assert [m.id for m in plurals if tuple(m.string) != m.id] == []
