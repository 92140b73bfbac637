"""The movement's words stay one per concept across the catalogs.

The terms are settled by shared/GLOSSARY.md, the centre's own 2021 report (its Kazakh wording is
the reference) and the 2026-12 language review. Two kinds of checks:

* a rejected form: a kk (or ru) string that uses a synonym the glossary rejects fails and names
  the preferred form. Stems are matched with any suffix, so «өңір» also catches «өңіріңіздің»;
* a concept: every string whose English message id speaks of a concept (a contest, the jury,
  approval, Skip, Cancel, ...) must use the settled word for it in kk and ru.

Placeholders are blanked before matching, so `{region}` is never taken for a word.
"""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR

PLACEHOLDER = re.compile(r"\{[^{}]*\}")

# (rejected pattern, preferred form, why). Case-insensitive; `\w*` takes any inflection.
REJECTED_KK = [
    (r"\bөңір\w*", "облыс", "glossary: region = облыс (28 strings, the report)"),
    (r"\bтүйме\w*", "батырма", "one word for a button"),
    (r"\bеске салғыш\w*", "еске салу", "glossary: reminder = еске салу; -ғыш makes a gadget"),
    (r"\bрахмет\w*", "Рақмет", "the orthographic norm"),
    (r"\bбекіт\w*", "мақұлдау", "approval is мақұлдау, for entries and coordinators alike"),
    (r"\bқабылдан(?:ды|ған)\w*", "мақұлданды / алынды",
     "the rejection status is «қабылданбады»: «қабылданды» reads as approved"),
    (r"\bмазмұн\w*", "формат", "a kind of content is a формат (the report: электрондық формат)"),
    (r"\bкірістірілген\b", "стандартты", "IT jargon for the built-in frame"),
    (r"\bкарточка\w*", "сипаттама", "a Russianism"),
    (r"\bжасырын санақ\w*", "иесіздендірілген статистика", "the personal-data law's term"),
    (r"\bМектеп және Студенттік\b", "Мектеп Парламенті мен Студенттік Парламент",
     "«Мектеп» needs its possessive head noun"),
    (r"\bөз адамдар\w*", "өз аумағыңыз", "a calque of «my people»"),
    (r"«Өткізу»|^Өткізу\b", "Өткізіп жіберу", "Skip; «өткізу» is to hold an event"),
    (r"\bбас тартылды\b", "Болдырылмады", "Cancelled is болдырмау"),
    (r"\b\w+(?:ейік|айық|ейін|айын)\s+(?:пе|ба|ма|бе|ме)\b", "…сыз ба? / …сіз бе?",
     "a confirmation asks for the user's decision, not «shall we»"),
    (r"\b\w+(?:ңызшы|ңізші)\b", "…ңыз / …ңіз",
     "the familiar -шы/-ші is not the centre's register"),
    (r"\bid-\w+", "ID нөмірі…", "a suffix on «id» guesses its sound; the noun нөмір carries it"),
    (r"\}-(?!жол\b|орын\b)\w+", "a label: «Критерий {k}/{total}», «Қадам: {n}/{total}»",
     "a suffix glued to a placeholder is right only for some values"),
    (r"\}\s+дейін\b", "a label: «Соңғы мерзім: {deadline}»",
     "«дейін» needs a dative that cannot be glued to a placeholder"),
    (r"№\{", "№ {", "typography: a space after №"),
    (r"\s–\s", "—", "typography: a spaced dash is the em dash (15 strings), as in «Бұл — сіз»"),
]

REJECTED_RU = [
    (r"\bрегион\w*", "область", "glossary: region = область"),
    (r"\bзон(?:а|ы|е|у|ой|ам|ами|ах)?\b", "территория", "one word for a coordinator's area"),
    (r"\bшорт-лист\w*", "отбор", "a loanword where a Russian word exists"),
    (r"(?-i:\bи Студенческ\w*)", "и студенческий парламент", "glossary: lowercase mid-phrase"),
    (r"\bИспользование:", "Как пользоваться:", "one heading for usage help"),
    (r"№\{", "№ {", "typography: a space after №"),
]

# (pattern on the English message id, word the translation must use, why).
CONCEPTS_KK = [
    (r"(?-i:\bSkip\b)", r"өткізіп жіберу", "Skip = Өткізіп жіберу"),
    # тоқтату stays for leaving a step with /cancel and for stopping a broadcast
    (r"(?-i:\bCancel\b)", r"болдырма", "Cancel = Болдырмау"),
    (r"\bapprov", r"мақұлда", "approve = мақұлдау"),
    (r"\bcontent\b", r"формат", "content type = формат"),
    (r"\bremind", r"еске сал", "reminder = еске салу"),
    (r"\bthank", r"рақмет", "Рақмет"),
    (r"\bbutton", r"батырма", "button = батырма"),
    (r"(?<!/)\bjur(?:y|or)", r"қазы", "jury = қазылар алқасы, juror = қазы"),
    (r"\bcontest", r"байқау", "contest = байқау"),
    (r"\bregion", r"облыс", "region = облыс"),
    (r"\b(?:my|your) people\b", r"аума[ғқ]", "one's own people = one's area, аумақ"),
    (r"\bcoordinator", r"үйлестіруші", "coordinator = үйлестіруші"),
    (r"\bfaction", r"фракци", "faction = фракция"),
    (r"\bnomination", r"номинаци", "nomination = номинация"),
    (r"\bage categor", r"жас санат", "age category = жас санаты"),
]

CONCEPTS_RU = [
    (r"\bcontest", r"конкурс", "glossary: contest = конкурс"),
    (r"(?<!/)\bjur(?:y|or)", r"жюри", "glossary: jury = жюри"),
    (r"\bregion", r"област", "glossary: region = область"),
    (r"\bapprov", r"одобр", "approve = одобрить (not утвердить / подтвердить)"),
    (r"\barea\b", r"территори", "a coordinator's area = территория"),
    (r"\bcoordinator", r"координатор", "glossary: coordinator = координатор"),
]

# A count placeholder followed by a noun in a fixed case is wrong for some n (1 участникам,
# 21 человек, 3 объявлений): Russian says "Получателей: {n}" or uses ngettext (plural entries
# are not checked here: each form fits its own n). `№ {n}` is
# a number, not a count; abbreviations (дн., ч, мин, с, МБ) fit every n. {max}, {min} and {age}
# are code constants and a setting whose values all take the genitive plural (120, 4000, 16).
RU_COUNT = re.compile(
    r"(?<!№ )\{(?:n|count|total|cap|limit|attended|sent|m|h|new|existing|added|updated|done"
    r"|todo|uses|blocked|failed|points|days|hours)\}\s+(?!(?:из|дн|ч|мин|с|МБ|исп)\b)[а-яё]+")


def messages(lang: str, plurals: bool = True) -> list[tuple[str, str, str]]:
    """(file, msgid, msgstr) of every translated message of a language; a count's text
    (msgid_plural) gives one row per plural form, under its singular msgid."""
    out = []
    for po in sorted((LOCALES_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for m in read_po(fh, locale=lang):
                if not (m.id and m.string):
                    continue
                if isinstance(m.id, str):
                    out.append((po.name, m.id, m.string))
                elif plurals:
                    out += [(po.name, m.id[0], form) for form in m.string]
    return out


def blank(text: str) -> str:
    return PLACEHOLDER.sub("{}", text)


def rejected_uses(lang: str, table: list[tuple[str, str, str]]) -> list[str]:
    found = []
    for name, msgid, msgstr in messages(lang):
        for pattern, preferred, why in table:
            for line in blank(msgstr).splitlines() or [""]:
                hit = re.search(pattern, line, re.IGNORECASE)
                if hit:
                    found.append(f"{name}: «{hit.group(0)}» → {preferred} ({why}) in {msgid!r}")
    return found


def concept_misses(lang: str, table: list[tuple[str, str, str]]) -> list[str]:
    found = []
    for name, msgid, msgstr in messages(lang):
        for pattern, word, why in table:
            if re.search(pattern, blank(msgid), re.IGNORECASE) and not re.search(
                    word, blank(msgstr), re.IGNORECASE):
                found.append(f"{name}: {msgid!r} → {msgstr!r} lacks «{word}» ({why})")
    return found


@pytest.mark.parametrize(("lang", "table"), [("kk", REJECTED_KK), ("ru", REJECTED_RU)])
def test_no_rejected_synonym(lang, table):
    found = rejected_uses(lang, table)
    assert not found, f"{len(found)} rejected forms:\n" + "\n".join(found)


@pytest.mark.parametrize(("lang", "table"), [("kk", CONCEPTS_KK), ("ru", CONCEPTS_RU)])
def test_a_concept_has_one_word(lang, table):
    found = concept_misses(lang, table)
    assert not found, f"{len(found)} strings use another word:\n" + "\n".join(found)


def test_no_fixed_russian_noun_after_a_count():
    # a count's text with real plural forms (ngettext / tn) may put its noun after the count
    found = [f"{name}: {msgid!r} → {msgstr!r}"
             for name, msgid, msgstr in messages("ru", plurals=False) if RU_COUNT.search(msgstr)]
    assert not found, "\n".join(found)


def rule(preferred: str) -> str:
    """The rejected pattern of a table row, found by its preferred form."""
    return next(p for p, pref, _why in REJECTED_KK + REJECTED_RU if pref.startswith(preferred))


@pytest.mark.parametrize(("preferred", "text"), [
    ("облыс", "Өз өңіріңіздің жұмыстарын"),
    ("батырма", "«✅ Орындалды» түймесін басыңыз"),
    ("мақұлдау", "Өтініміңіз бекітілді."),
    ("мақұлданды", "№ 3 жұмысыңыз қабылданды."),
    ("a label: «Критерий", "{} критерийдің {}-сі"),
    ("и студенческий", "Школьного и Студенческого парламента"),
    ("территория", "В вашей зоне"),
])
def test_a_stem_catches_its_inflections(preferred, text):
    assert re.search(rule(preferred), text, re.IGNORECASE)


@pytest.mark.parametrize(("preferred", "text"), [
    ("мақұлданды", "№ 3 жұмысыңыз қабылданбады."),  # the rejection status
    ("мақұлданды", "Жұмыстар енді қабылданбайды."),
    ("a label: «Критерий", "{}-жол: «жұмыс нөмірі орын»"),  # an ordinal is right
    ("Өткізіп жіберу", "Челлендждерді өткізу үшін"),  # to hold an event
    ("область", "Выберите область"),
    ("и студенческий", "Школьного и студенческого парламента"),
    ("территория", "Большой резонанс"),  # «зон» inside another word
])
def test_a_stem_leaves_the_right_words(preferred, text):
    assert not re.search(rule(preferred), text, re.IGNORECASE)
