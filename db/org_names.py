"""The search key of an organisation's name: how two spellings of one school meet.

Used by the 0017 migration's backfill and by bot.services.organisations, so both file a
name under the same key. Reasonable, not perfect: case, quotes, "№", punctuation, spaces,
word order and the common long forms and abbreviations of school types (ЖОМ / СОШ /
мектеп-гимназия …) are ignored; a spelling mistake is not (staff merge those with /orgs).
"""

from __future__ import annotations

import re

KEY_MAX = 200

# Long forms first: each phrase (after punctuation became spaces) turns into one token.
_PHRASES = (
    (r"жалпы орта білім беретін мекте\w*", "жоббм"),
    (r"жалпы білім беретін мекте\w*", "жббм"),
    (r"жалпы орта мекте\w*", "жом"),
    (r"негізгі орта мекте\w*", "ном"),
    (r"средн\w* общеобразовательн\w* школ\w*", "сош"),
    (r"основн\w* средн\w* школ\w*", "оош"),
    (r"общеобразовательн\w* школ\w*", "ош"),
    (r"мекте\w* гимназия\w*", "мг"),
    (r"школа гимназия\w*", "мг"),
    (r"мекте\w* лицей\w*", "мл"),
    (r"школа лицей\w*", "мл"),
    (r"мекте\w* интернат\w*", "ми"),
    (r"школа интернат\w*", "ми"),
)
_WORDS = {"мектебі": "мектеп", "мектебы": "мектеп", "школы": "школа", "гимназиясы": "гимназия",
          "лицейі": "лицей", "колледжі": "колледж", "колледжы": "колледж"}
# Legal-form prefixes and "named after" words that do not tell two schools apart.
_DROP = {"кмм", "кгу", "гу", "ммм", "мкм", "ркмк", "коммуналдық", "мемлекеттік", "мекемесі",
         "им", "имени", "атындағы", "n", "no", "nr"}


def org_key(name: str | None) -> str:
    """"№45 Ақсу ЖОМ" and "«Ақсу жалпы орта мектебі» № 45" give the same key."""
    text = (name or "").casefold().replace("ё", "е").replace("№", " ")
    text = re.sub(r"[^\w]+", " ", text)  # quotes, dashes, dots, "№" and the like
    text = re.sub(r"(\d)([^\W\d])|([^\W\d])(\d)", r"\1\3 \2\4", text)  # "45сош" -> "45 сош"
    text = " ".join(text.split())
    for pattern, token in _PHRASES:
        text = re.sub(pattern, token, text)
    words = [_WORDS.get(w, w) for w in text.split() if w not in _DROP]
    return " ".join(sorted(words))[:KEY_MAX]


def query_words(text: str | None) -> list[str]:
    """A typed search as words of the key's spelling (not sorted: each must occur)."""
    return org_key(text).split()
