"""Telegram-shaped output (HTML text, inline keyboards) as WhatsApp can show it. No I/O.

Keyboards, by what fits WhatsApp's interactive messages (checked by the Cloud API too; pywa
does not check them, so this module must):
- up to 3 options → reply buttons, titles cut to 20 characters at a word boundary;
- up to 10 → a list: rows of 24 characters, a cut title continues in the row's
  72-character description;
- more → a numbered text menu; a number typed next answers it (bot/channels/whatsapp/inbound).
Options whose cut titles would look the same take the next form instead. URL buttons become
the link in the text (one URL button alone: a "visit" button). The interactive body holds
1,024 characters; a longer text goes first as a message of its own.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from bot.channels.whatsapp.client import Choice

BUTTONS_MAX, BUTTON_TITLE = 3, 20
ROWS_MAX, ROW_TITLE, ROW_DESCRIPTION = 10, 24, 72
BODY_LIMIT = 1024
TEXT_LIMIT = 4096
ELLIPSIS = "…"


@dataclass(frozen=True)
class Option:
    """One inline button: `data` (callback data) or `url`."""

    text: str
    data: str | None = None
    url: str | None = None


# A numbered menu whose options are numbers themselves starts with this and the first of
# them: the number typed is the option's own (bot.channels.whatsapp.inbound)
COUNTING = "\x00counting:"


@dataclass
class Plan:
    """What to send: `kind` is text | buttons | list | link | numbered; `lead` a text sent
    before (a body too long for an interactive message); `menu` the callback data by number
    (numbered menus)."""

    kind: str
    body: str
    choices: list[Choice] = field(default_factory=list)
    lead: str | None = None
    menu: list[str] | None = None
    link: Option | None = None


def cut(title: str, limit: int) -> str:
    """At most `limit` characters, ending at a word boundary with "…" if anything was cut."""
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    room = title[: limit - 1]
    head = room.rsplit(" ", 1)[0] if " " in room else room
    return head.rstrip(" ,.;:-–(") + ELLIPSIS


def plan(body: str, options: list[Option], numbered_hint: str, list_button: str) -> Plan:
    """How to show `body` with these buttons (`numbered_hint`, `list_button`: in the
    person's language)."""
    urls = [o for o in options if o.url]
    choices = [o for o in options if o.data]
    if urls and (choices or len(urls) > 1):
        body = "\n\n".join([body, *(f"{o.text}: {o.url}" for o in urls)])
    if choices:
        return _menu(body, choices, numbered_hint, list_button)
    if len(urls) == 1 and len(body) <= BODY_LIMIT:
        return Plan("link", body, link=Option(cut(urls[0].text, BUTTON_TITLE), url=urls[0].url))
    return Plan("text", body)


def _menu(body: str, choices: list[Option], numbered_hint: str, list_button: str) -> Plan:
    lead = None
    if len(body) > BODY_LIMIT:
        lead, body = body, "⬆️"
    buttons = [Choice(cut(o.text, BUTTON_TITLE), o.data or "") for o in choices]
    if len(choices) <= BUTTONS_MAX and _distinct(buttons):
        return Plan("buttons", body, buttons, lead)
    rows = [_row(o) for o in choices]
    if len(choices) <= ROWS_MAX and _distinct(rows):
        return Plan("list", body, rows, lead, link=Option(cut(list_button, BUTTON_TITLE)))
    return _numbered(lead or body, choices, numbered_hint)


def _numbered(body: str, choices: list[Option], numbered_hint: str) -> Plan:
    first = _counting(choices)
    if first is not None:  # scores 0–10: "8" must mean 8, not the 8th option (7)
        listed = " · ".join(o.text.strip() for o in choices)
        return Plan("numbered", f"{body}\n\n{listed}\n\n{numbered_hint}",
                    menu=[f"{COUNTING}{first}", *(o.data or "" for o in choices)])
    menu = "\n".join(f"{n}. {o.text}" for n, o in enumerate(choices, 1))
    return Plan("numbered", f"{body}\n\n{menu}\n\n{numbered_hint}",
                menu=[o.data or "" for o in choices])


def _counting(choices: list[Option]) -> int | None:
    """The first number if the options are consecutive numbers (a score), else None."""
    texts = [o.text.strip() for o in choices]
    if not all(t.isascii() and t.isdigit() for t in texts):
        return None
    first = int(texts[0])
    return first if [int(t) for t in texts] == list(range(first, first + len(texts))) else None


def _row(option: Option) -> Choice:
    title = cut(option.text, ROW_TITLE)
    rest = None
    if title != " ".join(option.text.split()):
        rest = cut(option.text, ROW_DESCRIPTION)
    return Choice(title, option.data or "", rest)


def _distinct(choices: list[Choice]) -> bool:
    return len({(c.title, c.description) for c in choices}) == len(choices)


# --- formatting ----------------------------------------------------------------------------
_MARKS = {"b": "*", "strong": "*", "i": "_", "em": "_", "s": "~", "strike": "~", "del": "~",
          "code": "```", "pre": "```"}
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)([^>]*)>")
_HREF = re.compile(r"""href\s*=\s*["']([^"']*)["']""")


def from_html(text: str) -> str:
    """Telegram's HTML as WhatsApp's markup: *bold* _italic_ ~strike~ ```mono```; a link
    keeps its text followed by the address; other tags (underline, spoiler, quote) go."""
    out: list[str] = []
    opened: list[tuple[str, int, str]] = []  # (tag, where its content starts, href)
    pos = 0
    for match in _TAG.finditer(text):
        out.append(html.unescape(text[pos:match.start()]))
        pos = match.end()
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in _MARKS and name != "a":
            continue
        if not closing:
            href = _HREF.search(match.group(3)) if name == "a" else None
            opened.append((name, len(out), html.unescape(href.group(1)) if href else ""))
        elif opened and opened[-1][0] == name:
            _, start, href = opened.pop()
            inner = "".join(out[start:])
            del out[start:]
            out.append(_marked(name, inner, href))
    out.append(html.unescape(text[pos:]))
    return "".join(out)


def _marked(name: str, inner: str, href: str) -> str:
    """WhatsApp ignores a mark next to a space ("* bold *"): spaces go outside the marks."""
    if name == "a":
        return f"{inner} ({href})" if href and href != inner else inner
    core = inner.strip()
    if not core:
        return inner
    lead, trail = inner[: len(inner) - len(inner.lstrip())], inner[len(inner.rstrip()):]
    return f"{lead}{_MARKS[name]}{core}{_MARKS[name]}{trail}"
