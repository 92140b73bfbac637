"""What a messenger must do for the bot, and the ways a send can fail (aiogram-free).

The delivery worker (bot.delivery) knows these classes only, never a messenger's own
exceptions: each `Channel` turns its transport's failures into one of them, and the worker
decides from that alone what happens to the row.

| error | the worker | e.g. on Telegram |
|---|---|---|
| `Blocked` | `blocked`, the person marked unreachable, never retried | 403 |
| `Refused` | `failed` with the reason, not retried | 400, 404 |
| `RetryAfter` | all sends pause `seconds` (this row only if `per_recipient`), retried | 429 |
| `Transient` | retried with backoff, `failed` after MAX_ATTEMPTS | 5xx, network, time-out |

Anything else a channel raises fails the row with its type and text: one bad row never
stops the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.services.delivery import OutgoingMessage


class SendError(Exception):
    """A send the channel could not make; `reason` is what the queue row keeps."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Blocked(SendError):
    """The person blocked the bot (or left the messenger): never retried."""


class Refused(SendError):
    """The messenger refused this message for this person (no such chat, bad content)."""


class RetryAfter(SendError):
    """Flood control: nothing may go out for `seconds`; with `per_recipient`, only nothing
    to this person."""

    def __init__(self, seconds: float, per_recipient: bool = False) -> None:
        super().__init__(f"retry after {seconds:g} s")
        self.seconds = seconds
        self.per_recipient = per_recipient


class Transient(SendError):
    """The messenger or the network failed this time (5xx, time-out): try again later.
    Raised `from` the transport's exception (the log names that one)."""


@dataclass(frozen=True)
class InPart:
    """What a channel's `send_queued` returns for a message it could send only in part
    (WhatsApp outside its 24-hour window: a template with at most 850 characters of the text,
    an album's first photo, no buttons but the acknowledgement). The row is `sent`, and the
    queue notes the message as owed (db.models.OwedMessage): the channel brings it whole
    once it can (bot.services.owed)."""

    message_id: int | None = None


class Channel(Protocol):
    """One messenger. `address` is where it delivers (Telegram: the chat id); `send`
    returns the messenger's id of the message sent (None if it gives none)."""

    name: str
    can_edit: bool  # False: progress is told in new messages, not by editing one

    async def send(self, address: int, message: OutgoingMessage,
                   document: bytes | None = None) -> int | None:
        """Send one message; `document`: the bytes of a document made at send time
        (`message.document`). Raises a SendError subclass when it cannot."""

    async def edit(self, address: int, message_id: int, message: OutgoingMessage) -> None:
        """Replace the text and buttons of a message sent earlier (only if `can_edit`)."""
