"""Webinars: reading what staff type in the /newwebinar wizard and the edit flow.

Each parser returns the value to store or raises DomainError with the code (and the limits)
that handlers/shared/texts.py turns into a reply.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from urllib.parse import urlsplit

from bot.services.errors import DomainError
from bot.services.numbers import check_digits, typed_int

MAX_AHEAD = timedelta(days=2 * 365)
TITLE_LEN = (3, 200)
DESCRIPTION_LEN = (1, 3000)
DURATION_MIN = (5, 24 * 60)
CAPACITY_RANGE = (1, 1_000_000)
MAX_SPEAKERS = 30
MAX_OFFSET = 30 * 24 * 60

_DT_FORMATS = ("%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M", "%d.%m.%y %H:%M", "%d/%m/%Y %H:%M")


def check_text(value: str | None, code: str, bounds: tuple[int, int]) -> str:
    text = (value or "").strip()
    if not bounds[0] <= len(text) <= bounds[1]:
        raise DomainError(code, min=bounds[0], max=bounds[1])
    return text


def parse_local_datetime(value: str | None, tz: tzinfo, now: datetime) -> datetime:
    """`12.03.2026 15:00` or `2026-03-12 15:00` in `tz` → aware UTC; future only."""
    check_digits(value)  # strptime reads every script's digits
    text = re.sub(r"\s+", " ", (value or "").replace(",", " ").replace("T", " ")).strip()
    text = re.sub(r"([0-9]{1,2})[.:]([0-9]{2})$", r"\1:\2", text) if " " in text else text
    for fmt in _DT_FORMATS:
        try:
            naive = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    else:
        raise DomainError("wb_date_format")
    moment = naive.replace(tzinfo=tz).astimezone(now.tzinfo)
    if moment <= now:
        raise DomainError("wb_date_past")
    if moment - now > MAX_AHEAD:
        raise DomainError("wb_date_far")
    return moment


def parse_duration(value: str | None) -> int:
    """Minutes: `90`, `1:30`, `1h30m`, `2h`, `45m` / `45 мин` / `1,5 ч`."""
    check_digits(value)
    text = (value or "").strip().lower().replace(",", ".")
    minutes: float | None = None
    if (m := re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", text)) and int(m[2]) < 60:  # not 1:75
        minutes = int(m[1]) * 60 + int(m[2])
    elif m := re.fullmatch(r"([0-9]{1,6}(?:\.[0-9]{1,6})?)", text):
        minutes = float(m[1])
    elif (m := re.fullmatch(r"(?:([0-9]{1,6}(?:\.[0-9]{1,6})?)\s*(?:h|ч|час\w*|сағ\w*))?\s*"
                            r"(?:([0-9]{1,6})\s*(?:m|min|мин\w*))?", text)) and (m[1] or m[2]):
        minutes = float(m[1] or 0) * 60 + int(m[2] or 0)
    if minutes is None or not DURATION_MIN[0] <= minutes <= DURATION_MIN[1]:
        raise DomainError("wb_duration", min=DURATION_MIN[0], max=DURATION_MIN[1])
    return int(minutes)


def parse_url(value: str | None) -> str:
    text = (value or "").strip()
    parts = urlsplit(text)
    host = parts.hostname or ""
    if (parts.scheme != "https" or "." not in host or " " in text
            or len(text) > 500 or host.startswith(".") or host.endswith(".")):
        raise DomainError("wb_url")
    return text


def parse_speakers(value: str | None) -> list[str]:
    text = (value or "").strip()
    if text in ("-", "—", ""):
        return []
    names = [n.strip() for n in re.split(r"[\n;,]+", text) if n.strip()]
    if len(names) > MAX_SPEAKERS or any(len(n) > 120 for n in names):
        raise DomainError("wb_speakers", max=MAX_SPEAKERS)
    return names


def parse_capacity(value: str | None) -> int | None:
    text = (value or "").strip().replace(" ", "")
    if text in ("-", "—"):  # "No limit" typed; "0" is a typo or "closed", never "unlimited"
        return None
    low, high = CAPACITY_RANGE
    number = typed_int(text)
    if number is None or not low <= number <= high:
        raise DomainError("wb_capacity")
    return number


def parse_offsets(value: str | None) -> list[int]:
    """`24h, 1h, 0` / `1d 30m` / `90` (minutes) → sorted minutes, largest first."""
    check_digits(value)
    items = [p for p in re.split(r"[\s,;]+", (value or "").strip().lower()) if p]
    if not items:
        raise DomainError("wb_offsets")
    units = {"d": 1440, "д": 1440, "к": 1440, "h": 60, "ч": 60, "с": 60, "m": 1, "м": 1, "": 1}
    result: set[int] = set()
    for item in items:
        m = re.fullmatch(r"([0-9]{1,6}(?:\.[0-9]{1,6})?)([a-zа-яәіңғүұқөһ]*)", item)
        unit = units.get(m[2][:1]) if m else None
        if m is None or unit is None:
            raise DomainError("wb_offsets")
        minutes = round(float(m[1]) * unit)
        if minutes > MAX_OFFSET:
            raise DomainError("wb_offsets")
        result.add(minutes)
    return sorted(result, reverse=True)
