"""Message text that always fits, and user text without control characters.

Telegram counts its limits on the text people see: after HTML parsing, so `<b>` and `&amp;`
cost nothing and one character respectively. A message holds at most 4,096 characters, a
media caption 1,024 and a button's alert 200. Lengths here are UTF-16 code units (an emoji
outside the basic plane counts twice), which is never less than what Telegram counts, so
whatever fits here fits there. WhatsApp's limits are the same or larger.

`atoms` and `parse` read HTML the way Telegram's parser does (the tags it supports, the four named
entities and numeric ones, a stray `&` as itself, any other `<` an error), so cuts land
between tags and entities, never inside one, and tags open at a cut are closed there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ALERT_LIMIT = 200
MORE = "…"

TAGS = frozenset({"a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
                  "tg-spoiler", "tg-emoji", "code", "pre", "blockquote"})
ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TOKEN = re.compile(r"<[^<>]*>|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-z]{2,4});|[^<&]+|[<&]")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(\s[^>]*)?>\Z")
# C0 controls but tab and line breaks, DEL, lone surrogates and the two non-characters XML
# refuses: none of them is text a person means (and a spreadsheet cannot hold them).
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


class HtmlError(ValueError):
    """Text Telegram would refuse to parse ("can't parse entities")."""


@dataclass(frozen=True, slots=True)
class Atom:
    """The smallest piece a cut may not split: a character, an entity or a tag."""

    raw: str
    seen: str = ""  # what people see of it ("" for a tag)
    tag: str = ""  # the tag's name, for tags
    closing: bool = False


def units(text: str) -> int:
    """Length as Telegram measures it (UTF-16 code units)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def atoms(html: str) -> list[Atom]:
    """The HTML as Telegram reads it; HtmlError where Telegram would refuse it."""
    out: list[Atom] = []
    open_tags: list[str] = []
    for match in _TOKEN.finditer(html):
        raw = match.group()
        if raw == "<":
            raise HtmlError(f"unexpected '<' at {match.start()}")
        if raw[0] == "<":
            out.append(_tag(raw, open_tags, match.start()))
        elif raw[0] == "&" and len(raw) > 1 and (char := _entity(raw)) is not None:
            out.append(Atom(raw, char))
        else:  # text, and what only looks like an entity ("&nbsp;" is six characters)
            out.extend(Atom(ch, ch) for ch in raw)
    if open_tags:
        raise HtmlError(f"no end tag for <{open_tags[-1]}>")
    return out


def _tag(raw: str, open_tags: list[str], at: int) -> Atom:
    found = _TAG.match(raw)
    name = found.group(2).lower() if found else ""
    if name not in TAGS or (name == "span" and not found.group(1)
                            and "tg-spoiler" not in (found.group(3) or "")):
        raise HtmlError(f"unsupported tag {raw[:20]!r} at {at}")
    if found.group(1):
        if not open_tags or open_tags[-1] != name:
            raise HtmlError(f"unmatched end tag </{name}> at {at}")
        open_tags.pop()
        return Atom(raw, tag=name, closing=True)
    open_tags.append(name)
    return Atom(raw, tag=name)


def _entity(raw: str) -> str | None:
    """The character an entity stands for; None for one Telegram leaves as typed."""
    body = raw[1:-1]
    if body[0] != "#":
        return ENTITIES.get(body)
    code = int(body[2:], 16) if body[1] in "xX" else int(body[1:])
    return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else None


def parse(html: str) -> str:
    """The text people see (HtmlError for HTML Telegram refuses)."""
    if "<" not in html and "&" not in html:
        return html
    seen: list[str] = []
    open_tags: list[str] = []
    for match in _TOKEN.finditer(html):  # as `atoms`, without an object per character
        raw = match.group()
        if raw == "<":
            raise HtmlError(f"unexpected '<' at {match.start()}")
        if raw[0] == "<":
            _tag(raw, open_tags, match.start())
        elif raw[0] == "&" and len(raw) > 1 and (char := _entity(raw)) is not None:
            seen.append(char)
        else:
            seen.append(raw)
    if open_tags:
        raise HtmlError(f"no end tag for <{open_tags[-1]}>")
    return "".join(seen)


def seen_length(text: str, html: bool = True) -> int:
    return units(parse(text) if html else text)


def fits(text: str, limit: int = TEXT_LIMIT, html: bool = True) -> bool:
    return seen_length(text, html) <= limit


# --- cutting ---------------------------------------------------------------------------------

def _cut_index(items: list[Atom], start: int, budget: int) -> tuple[int, int]:
    """(end, resume): atoms[start:end] fit in `budget` seen units, cut after a line (or a
    word) when one ends in the second half; `resume` skips the line break cut at."""
    used, end = 0, start
    line = word = -1
    while end < len(items):
        size = units(items[end].seen)
        if used + size > budget:
            if items[end].seen == "\n":  # the text fits right up to a line's end
                line = end
            elif items[end].seen == " ":
                word = end
            break
        used += size
        if items[end].seen == "\n" and used > budget // 2:
            line = end
        elif items[end].seen == " " and used > budget // 2:
            word = end
        end += 1
    if end == len(items):
        return end, end
    if line >= 0:
        return line, line + 1
    if word >= 0:
        return word, word + 1
    return max(end, start + 1), max(end, start + 1)  # a hard cut, between two atoms


def _walk(items: list[Atom], stack: list[Atom]) -> list[Atom]:
    for atom in items:
        if atom.tag and atom.closing:
            stack.pop()
        elif atom.tag:
            stack.append(atom)
    return stack


def _closing(stack: list[Atom]) -> str:
    return "".join(f"</{a.tag}>" for a in reversed(stack))


def fit(html: str, limit: int = TEXT_LIMIT, more: str = MORE) -> str:
    """The HTML cut to `limit` seen characters after a whole line where possible, tags open
    at the cut closed, `more` added to show something was left out."""
    items = atoms(html)
    if sum(units(a.seen) for a in items) <= limit:
        return html
    end, _resume = _cut_index(items, 0, limit - units(more) - 1)
    stack = _walk(items[:end], [])
    head = "".join(a.raw for a in items[:end]).rstrip(" ")
    sep = "\n" if end < len(items) and items[end].seen == "\n" else ""
    return head + _closing(stack) + sep + more


def split(html: str, limit: int = TEXT_LIMIT) -> list[str]:
    """The HTML in parts of at most `limit` seen characters, cut after whole lines where
    possible; a tag open at a cut is closed there and opened again in the next part."""
    items = atoms(html)
    if sum(units(a.seen) for a in items) <= limit:
        return [html]
    parts: list[str] = []
    stack: list[Atom] = []
    start = 0
    while start < len(items):
        reopen = "".join(a.raw for a in stack)
        end, resume = _cut_index(items, start, limit)
        body = items[start:end]
        part = reopen + "".join(a.raw for a in body)
        stack = _walk(body, stack)
        part += _closing(stack)
        if "".join(a.seen for a in body).strip():  # Telegram refuses a blank message
            parts.append(part)
        stack = _walk(items[end:resume], stack)
        start = resume
    return parts


def plain_pieces(text: str, limit: int = TEXT_LIMIT) -> list[tuple[int, int]]:
    """(start, end) string indices of plain text in parts of at most `limit` units, cut
    after a line or a word where possible."""
    items = [Atom(ch, ch) for ch in text]
    pieces, start = [], 0
    while start < len(items):
        end, resume = _cut_index(items, start, limit)
        if text[start:end].strip():
            pieces.append((start, end))
        start = resume
    return pieces or [(0, len(text))]


def cut_plain(text: str, limit: int, more: str = MORE) -> str:
    """Plain text (not yet escaped) cut to `limit` units after a word, `more` added."""
    if units(text) <= limit:
        return text
    start, end = plain_pieces(text, limit - units(more))[0]
    return text[start:end].rstrip() + more


def take_lines(lines: list[str], budget: int, more: Callable[[int], str]) -> list[str]:
    """As many whole HTML lines as fit in `budget` seen characters (with the line breaks
    between them); when some are left out, the last line is `more(how_many_left)`."""
    total = sum(seen_length(line) + 1 for line in lines)
    if total <= budget:
        return list(lines)
    room = budget - seen_length(more(len(lines))) - 1
    taken: list[str] = []
    for line in lines:
        size = seen_length(line) + 1
        if size > room:
            break
        taken.append(line)
        room -= size
    return [*taken, more(len(lines) - len(taken))]


# --- what people type ----------------------------------------------------------------------

def strip_controls(text: str) -> str:
    """Text as a person means it: control characters gone, line breaks kept as "\\n".

    A spreadsheet refuses C0 controls and they have no place in a name or a comment;
    Telegram's clients cannot type most of them, but the console, CSV imports and other
    channels can."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return CONTROLS.sub("", text)


def short_html(text: str | None, limit: int, empty: str = "—") -> str:
    """A name or a school for a list: cut to `limit` characters, then escaped."""
    return escape(cut_plain(text, limit)) if text else empty
