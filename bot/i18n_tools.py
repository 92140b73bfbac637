"""Catalog upkeep: list message ids in the code and those a language lacks.

    python -m bot.i18n_tools missing ru          # po-formatted stubs of what ru lacks
    python -m bot.i18n_tools missing ru --file handlers/webinars.py
"""

from __future__ import annotations

import argparse

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

from bot.i18n import LANGUAGES, LOCALES_DIR, merged_catalog

ROOT = LOCALES_DIR.parent
KEYWORDS = {"_": None, "__": None, "N_": None, "gettext": None, "lazy_gettext": None,
            "ngettext": (1, 2), "t": (2,), "tn": (2, 3)}


def _extracted() -> dict[str, tuple[str | None, str]]:
    """msgid -> (msgid_plural or None, first source location), over bot/ and handlers/."""
    found: dict[str, tuple[str | None, str]] = {}
    for folder in ("bot", "handlers"):
        for filename, lineno, message, _comments, _ctx in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS,
        ):
            msgid, plural = message if isinstance(message, tuple) else (message, None)
            if msgid:
                found.setdefault(msgid, (plural, f"{folder}/{filename}:{lineno}"))
    return found


def code_messages() -> dict[str, str]:
    """msgid -> first source location, over bot/ and handlers/."""
    return {msgid: loc for msgid, (_plural, loc) in _extracted().items()}


def _translated(entry: Message | None, plural: str | None, forms: int) -> bool:
    """Present, and with every plural form the language has (kk 2, ru 3, en 2) when the code
    asks for a count (ngettext/tn): a missing form would show the English text."""
    if entry is None or not entry.string:
        return False
    if plural is None:
        return isinstance(entry.string, str)
    return (isinstance(entry.id, tuple) and entry.id[1] == plural
            and len(entry.string) == forms and all(entry.string))


def missing(lang: str) -> dict[str, str]:
    have = merged_catalog(LOCALES_DIR / lang, lang)
    return {m: loc for m, (plural, loc) in _extracted().items()
            if not _translated(have.get(m), plural, have.num_plurals)}


def unused(lang: str) -> list[str]:
    """Catalog entries no code asks for (left behind when a text changed)."""
    code = _extracted()
    return [m.id if isinstance(m.id, str) else m.id[0]
            for m in merged_catalog(LOCALES_DIR / lang, lang)
            if m.id and (m.id if isinstance(m.id, str) else m.id[0]) not in code]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["missing"])
    parser.add_argument("lang", choices=LANGUAGES)
    parser.add_argument("--file", help="only ids first seen in this source file")
    args = parser.parse_args()
    catalog = Catalog(locale=args.lang)
    for msgid, loc in missing(args.lang).items():
        if args.file and not loc.startswith(args.file):
            continue
        catalog.add(msgid, "", locations=[(loc.split(":")[0], int(loc.split(":")[1]))])
    import sys

    write_po(sys.stdout.buffer, catalog, omit_header=True, width=99)


if __name__ == "__main__":
    main()
