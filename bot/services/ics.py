"""iCalendar (RFC 5545) files for "Add to calendar", written by hand.

The event carries its local time with a VTIMEZONE built from the tz database (Asia/Almaty
has had a fixed offset since 2024, so one STANDARD component describes it), CRLF line
endings, folding at 75 octets and escaped text values.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

PRODID = "-//Mektep Parliament//Webinars//KK"


def escape_text(value: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11)."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """Fold a content line into chunks of at most 75 octets, never splitting a character."""
    out: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def _utc(value: datetime) -> str:
    return value.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def vtimezone(tz: ZoneInfo, moment: datetime) -> list[str]:
    """A VTIMEZONE that is exact around `moment` (a fixed-offset zone such as Asia/Almaty)."""
    local = moment.astimezone(tz)
    offset = _offset(local.utcoffset())
    return [
        "BEGIN:VTIMEZONE",
        f"TZID:{tz.key}",
        "BEGIN:STANDARD",
        "DTSTART:19700101T000000",
        f"TZOFFSETFROM:{offset}",
        f"TZOFFSETTO:{offset}",
        f"TZNAME:{local.tzname() or offset}",
        "END:STANDARD",
        "END:VTIMEZONE",
    ]


def event_ics(*, uid: str, title: str, description: str, starts_at: datetime,
              ends_at: datetime, url: str, tz: ZoneInfo, stamp: datetime, sequence: int = 0,
              cancelled: bool = False, alarm_minutes: int | None = 60) -> bytes:
    """One VEVENT in its own VCALENDAR, as UTF-8 bytes ready to send as a document."""
    local_fmt = "%Y%m%dT%H%M%S"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        *vtimezone(tz, starts_at),
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{_utc(stamp)}",
        f"SEQUENCE:{sequence}",
        f"DTSTART;TZID={tz.key}:{starts_at.astimezone(tz).strftime(local_fmt)}",
        f"DTEND;TZID={tz.key}:{ends_at.astimezone(tz).strftime(local_fmt)}",
        f"SUMMARY:{escape_text(title)}",
        f"DESCRIPTION:{escape_text(description)}",
        f"LOCATION:{escape_text(url)}",
        f"URL:{url}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
    ]
    if alarm_minutes is not None and not cancelled:
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", f"DESCRIPTION:{escape_text(title)}",
                  f"TRIGGER:-PT{alarm_minutes}M", "END:VALARM"]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(fold(line) for line in lines) + "\r\n").encode("utf-8")

