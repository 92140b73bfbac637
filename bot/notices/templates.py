"""WhatsApp message templates: what the bot sends to a person outside the 24-hour window.

WhatsApp lets a business send free-form messages only within 24 hours of the person's last
message; after that only templates approved by Meta go out (error 131047 otherwise). Every
queued message therefore maps to one of four kinds (by the row's source_type), and each
kind to templates per language whose one parameter ({{1}}) carries the message itself,
flattened to one line (Meta refuses newlines and tabs in parameters) and cut to fit the
template's 1,024 characters. Variants carry what the message had:
- a certificate's template has its PDF as the header document;
- an announcement with a photo (`_photo`) has it as the header image;
- an announcement or reminder to acknowledge (`_read` / `_done`) has one quick-reply button
  ("Оқыдым" / "Прочитал(а)" / "Read", or "Done") whose payload is the Telegram button's own
  callback data: a press is the same acknowledgement (bot/channels/whatsapp/inbound.py).

The texts below are what the centre submits for approval (README "WhatsApp" lists them);
`/wa_templates` lists them and checks them, components included, against the account.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from bot.callbacks import BroadcastAckCD
from bot.services.delivery import OutgoingMessage

ANNOUNCEMENT, REMINDER, RESULT, CERTIFICATE_READY = (
    "announcement", "reminder", "result", "certificate_ready")
KINDS = (ANNOUNCEMENT, REMINDER, RESULT, CERTIFICATE_READY)
LANGUAGES = ("kk", "ru", "en")
PREFIX = "mektep_"
PARAM_LIMIT = 850  # the template's own words and {{1}} stay within Meta's 1,024
BODY_LIMIT = 1024
UNCUT = 1 << 30  # one_line's limit when the whole length is wanted
CATEGORY = "UTILITY"
IMAGE, DOCUMENT = "IMAGE", "DOCUMENT"  # header formats
PHOTO = "photo"  # the name part of a template with an image header
READ, DONE = "read", "done"  # the quick-reply button of an announcement to acknowledge
ACK_BUTTONS = {"received": READ, "done": DONE}  # Broadcast.ack → the button
ACK_DATA = BroadcastAckCD(id=0).pack()[:-1]  # "bca:": what every acknowledgement starts with

# deliveries.source_type → the template kind; anything not named is an announcement
SOURCE_KINDS = {
    "webinar_reminder": REMINDER, "webinar_change": REMINDER, "webinar_cancel": REMINDER,
    "broadcast_nudge": REMINDER, "digest": REMINDER, "weekly_reminder": REMINDER,
    "submission": RESULT, "jury": RESULT, "coordinator_decision": RESULT,
    "promoted": RESULT, "demoted": RESULT, "guardian_confirmed": RESULT,
    "certificate": CERTIFICATE_READY,
}

# Meta accepts no body that begins or ends with a parameter: each has words on both sides.
HEADS: dict[str, dict[str, str]] = {
    ANNOUNCEMENT: {
        "kk": "Мектеп Парламенті: жаңа хабарландыру.",
        "ru": "Мектеп Парламенті: новое объявление.",
        "en": "Mektep Parliament: a new announcement.",
    },
    REMINDER: {
        "kk": "Мектеп Парламенті: еске салу.",
        "ru": "Мектеп Парламенті: напоминание.",
        "en": "Mektep Parliament: a reminder.",
    },
    RESULT: {
        "kk": "Мектеп Парламенті: сіздің нәтижеңіз.",
        "ru": "Мектеп Парламенті: ваш результат.",
        "en": "Mektep Parliament: your result.",
    },
    CERTIFICATE_READY: {
        "kk": "Мектеп Парламенті: сертификатыңыз дайын, ол осы хабарламаға тіркелген.",
        "ru": "Мектеп Парламенті: ваш сертификат готов, он приложен к этому сообщению.",
        "en": "Mektep Parliament: your certificate is ready, it is attached to this message.",
    },
}
TAILS: dict[str | None, dict[str, str]] = {
    None: {
        "kk": "Сұрағыңыз болса, осы чатқа жазыңыз.",
        "ru": "Если есть вопросы, напишите в этот чат.",
        "en": "Questions? Reply in this chat.",
    },
    READ: {
        "kk": "Оқығаныңызды «Оқыдым» батырмасымен растаңыз.",
        "ru": "Подтвердите прочтение кнопкой «Прочитал(а)».",
        "en": "Please confirm with the “Read” button.",
    },
    DONE: {
        "kk": "Орындаған соң «Орындадым» батырмасын басыңыз.",
        "ru": "Когда выполните, нажмите кнопку «Выполнено».",
        "en": "Once you have done it, press the “Done” button.",
    },
}
BUTTONS: dict[str, dict[str, str]] = {
    READ: {"kk": "Оқыдым", "ru": "Прочитал(а)", "en": "Read"},
    DONE: {"kk": "Орындадым", "ru": "Выполнено", "en": "Done"},
}
# (kind, image header, acknowledgement button): every template the bot may send
VARIANTS: tuple[tuple[str, bool, str | None], ...] = (
    *((ANNOUNCEMENT, photo, ack) for photo in (False, True) for ack in (None, READ, DONE)),
    *((REMINDER, False, ack) for ack in (None, READ, DONE)),
    (RESULT, False, None),
    (CERTIFICATE_READY, False, None),
)


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    text: str
    header: str | None = None  # IMAGE | DOCUMENT
    button: str | None = None  # a quick-reply button's text

    @property
    def has_document(self) -> bool:
        return self.header == DOCUMENT

    def definition(self) -> list[dict[str, Any]]:
        """Its components as they are submitted to Meta, and as the Cloud API lists them."""
        parts: list[dict[str, Any]] = []
        if self.header:
            parts.append({"type": "HEADER", "format": self.header})
        parts.append({"type": "BODY", "text": self.text})
        if self.button:
            parts.append({"type": "BUTTONS", "buttons": [
                {"type": "QUICK_REPLY", "text": self.button}]})
        return parts


def kind_of(source_type: str | None) -> str:
    return SOURCE_KINDS.get(source_type or "", ANNOUNCEMENT)


def name_of(kind: str, photo: bool = False, ack: str | None = None) -> str:
    return PREFIX + kind + (f"_{PHOTO}" if photo else "") + (f"_{ack}" if ack else "")


def template(kind: str, language: str, photo: bool = False, ack: str | None = None) -> Template:
    header = DOCUMENT if kind == CERTIFICATE_READY else (IMAGE if photo else None)
    text = f"{HEADS[kind][language]} {{{{1}}}}\n\n{TAILS[ack][language]}"
    return Template(name_of(kind, photo, ack), language, text, header,
                    BUTTONS[ack][language] if ack else None)


def required() -> list[Template]:
    """Every template the bot needs, per language: what to submit to Meta."""
    return [template(kind, lang, photo, ack)
            for kind, photo, ack in VARIANTS for lang in LANGUAGES]


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


def components(param: str, header: dict[str, Any] | None = None,
               payload: str | None = None) -> list[dict[str, Any]]:
    """The Cloud API's `components` of a template send: the header's media ({"type":
    "image"|"document", …}), if any; the body's one parameter; the quick-reply button's
    payload, which comes back when it is pressed (bot/channels/whatsapp/inbound.py)."""
    parts: list[dict[str, Any]] = []
    if header is not None:
        parts.append({"type": "header", "parameters": [header]})
    parts.append({"type": "body", "parameters": [{"type": "text", "text": param}]})
    if payload is not None:
        parts.append({"type": "button", "sub_type": "quick_reply", "index": "0",
                      "parameters": [{"type": "payload", "payload": payload}]})
    return parts


# --- what a queued message needs of its template -------------------------------------------
def ack_of(message: OutgoingMessage) -> tuple[str, str] | None:
    """(READ | DONE, the callback data of its acknowledgement button) of a message that
    asks to be acknowledged: the template's button carries that data, so a press is the
    same acknowledgement as on Telegram."""
    ack = ACK_BUTTONS.get(message.ack or "")
    if ack is None:
        return None
    for row in message.buttons:
        for button in row:
            if button.callback_data and button.callback_data.startswith(ACK_DATA):
                return ack, button.callback_data
    return None


def image_of(message: OutgoingMessage) -> str | None:
    """The file id of a photo message's photo (an album's first, if a photo)."""
    if message.kind == "photo" and message.file_id:
        return message.file_id
    first = (message.media or [{}])[0] if message.kind == "album" else {}
    return first.get("file_id") if first.get("kind") == "photo" else None


def left_out(message: OutgoingMessage, text: str | None, header: str | None,
             ack: bool) -> bool:
    """Whether the template leaves part of `message` out, so that it is owed in full once the
    person writes (bot.services.owed): text beyond PARAM_LIMIT, a link behind words, a
    button besides the acknowledgement it carries (`ack`), a file its header (`header`:
    "image" | "document" | None) does not carry — an album's other photos, a video, a
    document other than a certificate's PDF, a photo that could not be fetched."""
    flat = one_line(text, html_text=message.html, limit=UNCUT)
    if len(flat) > PARAM_LIMIT or _hidden_links(message):
        return True
    if sum(len(row) for row in message.buttons) > (1 if ack else 0):
        return True
    if message.kind == "album":
        return len(message.media or []) > 1 or header != "image"
    carried = {"text": None, "photo": "image", "document": "document"}
    return message.kind not in carried or header != carried[message.kind]


def _hidden_links(message: OutgoingMessage) -> bool:
    """A link whose address a one-line parameter drops (its words stay, the URL goes)."""
    if message.html:
        return "<a " in (message.text or "")
    parts = [message.entities or []] + [item.get("entities") or []
                                         for item in message.media or []]
    return any(e.get("type") == "text_link" for entities in parts for e in entities)


# --- the account's templates ------------------------------------------------------------------
def check(listed: list[dict[str, Any]]) -> list[tuple[Template, str]]:
    """Each required template with its state on the account: APPROVED, PENDING, REJECTED, …,
    MISSING, or DIFFERENT (<what>) when one's category, header, body or button is not what
    the bot sends. `listed`: the account's templates as the Cloud API lists them."""
    found = {(t.get("name"), t.get("language")): t for t in listed}
    checked = []
    for wanted in required():
        have = found.get((wanted.name, wanted.language))
        if have is None:
            checked.append((wanted, "MISSING"))
            continue
        state = str(have.get("status") or "UNKNOWN")
        differs = _differs(wanted, have)
        checked.append((wanted, f"DIFFERENT ({differs})" if differs else state))
    return checked


def _differs(wanted: Template, have: dict[str, Any]) -> str | None:
    """Which part of a listed template differs from ours (None: the same, or not listed).
    A category Meta changed (Marketing: dearer, capped per person) counts too."""
    if str(have.get("category") or CATEGORY).upper() != CATEGORY:
        return "category"
    listed = have.get("components")
    if not isinstance(listed, list):
        return None
    theirs = {str(part.get("type", "")).upper(): part for part in listed if isinstance(part, dict)}
    mine = {part["type"]: part for part in wanted.definition()}
    if (theirs.get("HEADER") or {}).get("format") != (mine.get("HEADER") or {}).get("format"):
        return "header"
    if " ".join(str((theirs.get("BODY") or {}).get("text", "")).split()) != " ".join(
            wanted.text.split()):
        return "body"
    if _buttons(theirs.get("BUTTONS")) != _buttons(mine.get("BUTTONS")):
        return "buttons"
    return None


def _buttons(part: dict[str, Any] | None) -> list[tuple[str, str]]:
    return [(str(b.get("type", "")).upper(), str(b.get("text", "")))
            for b in (part or {}).get("buttons") or []]
