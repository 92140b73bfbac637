"""A local chat in the terminal, driving the real Dispatcher, handlers and database through
the in-process Bot API (no network, no token). Works interactively and with piped stdin.

    > /start              text and commands go to the bot
    > 2                   presses button 2 of your latest message (a label works too)
    > /as 900             talk as another Telegram user id; their waiting buttons are listed
    > <<<                 several lines, sent as one message by a line with >>> alone
    > /send cover.png     a photo, video or document from disk
    > /clock +2d          move the bot's clock; reminders and deadlines that fall due run
    > /quit

`python -m bot console --tour` plays a scripted year (bot.console.tour).
"""

from bot.console.core import Console
from bot.console.run import run_console

__all__ = ["Console", "run_console"]
