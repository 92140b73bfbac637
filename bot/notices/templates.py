"""WhatsApp message templates: what the bot sends to a person outside the 24-hour window.

WhatsApp lets a business send free-form messages only within 24 hours of the person's last
message; after that only templates approved by Meta go out (error 131047 otherwise). Every
queued message therefore maps to one of four kinds, and each kind to one template per
language, whose one parameter ({{1}}) carries the message itself, flattened to one line
(Meta refuses newlines and tabs in parameters) and cut to fit the template's 1,024
characters. A certificate's template carries its PDF as the header document.

The texts below are what the centre submits for approval (README "WhatsApp" says how);
`/wa_templates` lists them and checks them against the account.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

ANNOUNCEMENT, REMINDER, RESULT, CERTIFICATE_READY = (
    "announcement", "reminder", "result", "certificate_ready")
KINDS = (ANNOUNCEMENT, REMINDER, RESULT, CERTIFICATE_READY)
LANGUAGES = ("kk", "ru", "en")
PREFIX = "mektep_"
PARAM_LIMIT = 900  # the template's own words and {{1}} stay within Meta's 1,024
CATEGORY = "UTILITY"

# deliveries.source_type → the template kind; anything not named is an announcement
SOURCE_KINDS = {
    "webinar_reminder": REMINDER, "webinar_change": REMINDER, "webinar_cancel": REMINDER,
    "broadcast_nudge": REMINDER, "digest": REMINDER, "weekly_reminder": REMINDER,
    "submission": RESULT, "jury": RESULT, "coordinator_decision": RESULT,
    "promoted": RESULT, "demoted": RESULT, "guardian_confirmed": RESULT,
    "certificate": CERTIFICATE_READY,
}

TEXTS: dict[str, dict[str, str]] = {
    ANNOUNCEMENT: {
        "kk": "Мектеп Парламенті: жаңа хабарландыру. {{1}}",
        "ru": "Мектеп Парламенті: новое объявление. {{1}}",
        "en": "Mektep Parliament: a new announcement. {{1}}",
    },
    REMINDER: {
        "kk": "Мектеп Парламенті: еске салу. {{1}}",
        "ru": "Мектеп Парламенті: напоминание. {{1}}",
        "en": "Mektep Parliament: a reminder. {{1}}",
    },
    RESULT: {
        "kk": "Мектеп Парламенті: сіздің нәтижеңіз. {{1}}",
        "ru": "Мектеп Парламенті: ваш результат. {{1}}",
        "en": "Mektep Parliament: your result. {{1}}",
    },
    CERTIFICATE_READY: {
        "kk": "Мектеп Парламенті: сертификатыңыз дайын, ол осы хабарламаға тіркелген. {{1}}",
        "ru": "Мектеп Парламенті: ваш сертификат готов, он приложен к этому сообщению. {{1}}",
        "en": "Mektep Parliament: your certificate is ready, it is attached to this "
              "message. {{1}}",
    },
}


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    text: str
    has_document: bool = False


def kind_of(source_type: str | None) -> str:
    return SOURCE_KINDS.get(source_type or "", ANNOUNCEMENT)


def name_of(kind: str) -> str:
    return PREFIX + kind


def required() -> list[Template]:
    """Every template the bot needs, per language: what to submit to Meta."""
    return [Template(name_of(kind), lang, TEXTS[kind][lang], kind == CERTIFICATE_READY)
            for kind in KINDS for lang in LANGUAGES]


def language_of(locale: str | None) -> str:
    return locale if locale in LANGUAGES else LANGUAGES[0]


_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\u00a0]{2,}")


def one_line(text: str | None, html_text: bool = False, limit: int = PARAM_LIMIT) -> str:
    """A message as a template parameter: no tags, no line breaks or tabs, not more than
    three spaces in a row, at most `limit` characters (cut at a word, with an ellipsis)."""
    if html_text:
        text = html.unescape(_TAGS.sub("", text or ""))
    lines = [line.strip() for line in (text or "").replace("\t", " ").splitlines()]
    flat = _SPACES.sub(" ", " · ".join(line for line in lines if line)).strip()
    if len(flat) > limit:
        cut = flat.rfind(" ", 0, limit - 1)
        flat = flat[:cut if cut > limit // 2 else limit - 1].rstrip(" ·") + "…"
    return flat or "—"


def components(param: str, document: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The Cloud API's `components` of a template send: the header document, if any, and
    the body's one parameter."""
    parts: list[dict[str, Any]] = []
    if document is not None:
        parts.append({"type": "header", "parameters": [
            {"type": "document", "document": document}]})
    parts.append({"type": "body", "parameters": [{"type": "text", "text": param}]})
    return parts


def check(approved: list[dict[str, Any]]) -> list[tuple[Template, str]]:
    """Each required template with its state on the account: APPROVED, PENDING, REJECTED, …
    or MISSING. `approved`: the account's templates as the Cloud API lists them."""
    state = {(t.get("name"), t.get("language")): str(t.get("status") or "UNKNOWN")
             for t in approved}
    return [(t, state.get((t.name, t.language), "MISSING")) for t in required()]
