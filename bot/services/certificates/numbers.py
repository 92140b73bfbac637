"""Certificate numbers: made, normalised as typed or scanned, checked; the public name.
"""

from __future__ import annotations

import re
import secrets

from bot.services.certificates.base import CHECK_ALPHABET, NUMBER_LETTER

# D26-7KQM-3XRT-P9WF-HN2C: template letter, year, then 16 random characters of a 32-letter
# alphabet (80 bits) in groups of four: nothing to count up, nothing worth guessing.
NUMBER_GROUPS = 4
NUMBER_RE = re.compile(r"^[DPWS][0-9]{2}(-[A-HJ-NP-Z2-9]{4}){4}$")
# Numbers issued before (D26-000123-ABCD: a sequential id and 20 random bits) still verify.
LEGACY_NUMBER_RE = re.compile(r"^[DPWS][0-9]{2}-[0-9]{6,}-[A-Z0-9]{4}$")
_COMPACT_RE = re.compile(r"^([DPWS][0-9]{2})([A-HJ-NP-Z2-9]{16})$")


def make_number(template: str, year: int) -> str:
    """A new certificate number: 80 random bits behind the template letter and year."""
    groups = ("".join(secrets.choice(CHECK_ALPHABET) for _ in range(4))
              for _ in range(NUMBER_GROUPS))
    return f"{NUMBER_LETTER[template]}{year % 100:02d}-" + "-".join(groups)


def normalize_number(text: str) -> str:
    """As typed or scanned: any case, spaces, a leading № or #, the QR link's "v_"; a new
    number typed without its dashes gets them back."""
    value = re.sub(r"\s+", "", text or "").upper().lstrip("№#").removeprefix("V_")
    if m := _COMPACT_RE.match(value.replace("-", "")):
        head, tail = m.groups()
        value = head + "".join(f"-{tail[i:i + 4]}" for i in range(0, len(tail), 4))
    return value


def public_name(full_name: str | None) -> str:
    """The holder as /verify shows them to anyone: the first word whole, the others as
    initials ("Aida Nurlanova" -> "Aida N."). Enough to match the printed certificate in
    hand; not a full name for whoever scans a QR code posted online. The same for every
    holder, minor or adult: the age is not always known, and nobody needs more. (A minor
    still waiting for a guardian's confirmation is not even this: `holder_waiting`.)"""
    words = (full_name or "").split()
    if not words:
        return "—"
    return " ".join([words[0], *(f"{w[0]}." for w in words[1:])])


def is_number(value: str) -> bool:
    """Well formed, new or legacy (normalised first)."""
    return bool(NUMBER_RE.match(value) or LEGACY_NUMBER_RE.match(value))
