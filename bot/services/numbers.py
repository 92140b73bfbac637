"""Numbers that people type and buttons carry: the ASCII digits 0-9 and nothing else.

Python is generous with digits. `str.isdigit()` says yes to "²", which `int()` then refuses
(a crash); `int()` reads "٣" (Arabic-Indic), "３" (full width), "1_000", " 7" and "+7", and
refuses more than 4,300 digits; the regex `\\d` matches the digits of every script. None of
that is a number here: every handler and service parses numbers through this module.
"""

from __future__ import annotations

from bot.services.errors import DomainError

MAX_DIGITS = 18  # fits a 64-bit column; longer is no id, count or year of ours


def is_number(text: str | None, max_digits: int = MAX_DIGITS) -> bool:
    """One or more ASCII digits and nothing else (no sign, space or underscore)."""
    return bool(text) and len(text) <= max_digits and text.isascii() and text.isdigit()


def as_int(text: str | None, max_digits: int = MAX_DIGITS) -> int | None:
    """The number `text` spells in ASCII digits, else None: for callback data and command
    arguments, where anything else is a stale or forged value."""
    return int(text) if is_number(text, max_digits) else None  # type: ignore[arg-type]


def has_foreign_digits(text: str | None) -> bool:
    """A digit sign other than 0-9 ("²", "٣", "３", "½", "Ⅻ"): a person meant a number."""
    return any(ch.isnumeric() and not ch.isascii() for ch in text or "")


def check_digits(text: str | None) -> None:
    """Refuse typed text that writes a number with other digit signs, so the reply can say
    to use 0-9 (dates, times, durations: their own parsers then see only ASCII digits)."""
    if has_foreign_digits(text):
        raise DomainError("digits_only")


def typed_int(text: str | None, max_digits: int = MAX_DIGITS) -> int | None:
    """A number typed by a person: the int, None when it is no number at all, and
    DomainError("digits_only") when it is written with other digit signs."""
    value = (text or "").strip()
    check_digits(value)
    return as_int(value, max_digits)
