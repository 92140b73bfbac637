"""Where outgoing messages leave the bot: one `Channel` per messenger (bot.channels.base).

Telegram is the only one today (bot.channels.telegram); the delivery queue names the
channel of every row and the worker sends it through `channels[row.channel]`.
"""

from bot.channels.base import Blocked, Channel, Refused, RetryAfter, SendError, Transient

__all__ = ["Blocked", "Channel", "Refused", "RetryAfter", "SendError", "Transient"]
