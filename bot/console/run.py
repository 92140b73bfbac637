"""Starting the console: the app on the in-process Bot API, the prompt, and the tour."""

from __future__ import annotations

import asyncio
import io
import logging
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from bot.app import App, RouterBuilder
from bot.config import Settings
from bot.console.core import Console, shown_path
from bot.factory import build_app, prepare
from bot.local_api import LocalSession
from bot.scheduler import run_all_ticks
from db.base import utcnow
from db.migrate import upgrade_async

# Lines a person trying the bot does not need between their messages; WARNING and above
# still show. LOG_LEVEL=DEBUG keeps everything.
QUIET = ("alembic", "apscheduler", "aiogram", "bot", "db", "handlers", "matplotlib")
TOUR_STAFF = 900


@contextmanager
def quiet_logs(settings: Settings) -> Iterator[None]:
    """WARNING and above only while the console runs; the levels before are put back (the
    tests run the console in the same process as everything else)."""
    loggers = [logging.getLogger(name) for name in QUIET]
    before = [logger.level for logger in loggers]
    if settings.log_level != "DEBUG":
        for logger in loggers:
            logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)


def tour_settings(settings: Settings) -> Settings:
    """The tour plays on a database of its own, made afresh each time (data/tour)."""
    folder = settings.data_folder / "tour"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return settings.model_copy(update={
        "database_url": f"sqlite+inline:///{folder / 'bot.db'}", "data_dir": folder,
        "staff_ids": frozenset({TOUR_STAFF}), "default_locale": "kk", "redis_url": None,
        "flood_limit": 10_000})  # the script types faster than any person


async def run_console(settings: Settings, *, routers: RouterBuilder, stdin: TextIO = sys.stdin,
                      out: TextIO = sys.stdout, tour: bool = False,
                      channel: str = "telegram") -> None:
    """`channel` "whatsapp": you are a WhatsApp person (bot.console.whatsapp)."""
    with quiet_logs(settings):
        await _run(settings, routers, stdin, out, tour, channel)


def _console(app: App, api: LocalSession, out: TextIO, settings: Settings,
             channel: str) -> tuple[Console, str]:
    """The console for `channel`, and its first words."""
    files = settings.data_folder / "console-files"
    if channel == "whatsapp":
        from bot.console.whatsapp import WhatsAppConsole
        from bot.console.whatsapp import intro as wa_intro

        console: Console = WhatsAppConsole(app, api, out, files=files)
        return console, wa_intro(console)  # type: ignore[arg-type]
    console = Console(app, api, out, files=files)
    return console, intro(settings, console)


async def _run(settings: Settings, routers: RouterBuilder, stdin: TextIO, out: TextIO,
               tour: bool, channel: str) -> None:
    if tour:
        from bot.console.tour import make_samples, tour_script

        settings = tour_settings(settings)
        samples = make_samples(settings.data_folder / "samples")
        stdin = io.StringIO(tour_script(shown_path(samples), utcnow(), settings.tz))
    await upgrade_async(settings.database_url)
    api = LocalSession()
    app = build_app(settings.model_copy(update={"bot_token": None}), routers=routers,
                    session=api)
    console, first_words = _console(app, api, out, settings, channel)
    await prepare(app)
    await run_all_ticks(app)
    interactive = stdin.isatty()
    console.print(first_words)
    try:
        while True:
            if interactive:
                prompt = "... " if console.block is not None else f"[{console.who}]> "
                print(prompt, end="", file=out, flush=True)
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            if tour and line.startswith("#"):
                narrate(console, line)
                continue
            if not interactive:
                echo(console, line)
            if not await console.handle_line(line):
                break
    finally:
        await app.close()


def narrate(console: Console, line: str) -> None:
    """A tour's "# …" line: its story, a paragraph set off by an empty line."""
    gap = "" if console.narrating else "\n"
    console.print(f"{gap}{line.lstrip('# ').rstrip()}")
    console.narrating = True


def echo(console: Console, line: str) -> None:
    """Piped input is shown as if typed."""
    console.narrating = False
    text = line.rstrip("\n")
    console.print(f"... {text}" if console.block is not None else f"[{console.who}]> {text}")


def intro(settings: Settings, console: Console) -> str:
    staff = sorted(settings.staff_ids) or "none, set STAFF_IDS in .env"
    return ("Local console: you are chatting with the bot without Telegram. Type /start.\n"
            "A number presses a button of your latest message; /as ID switches user "
            f"(staff ids: {staff}); <<< … >>> sends several lines as one message; "
            "/send PATH sends a file; /clock +2d moves time; /console lists all this; "
            "/quit leaves.\n"
            f"Files the bot sends are saved in {shown_path(console.saver.folder)}")
