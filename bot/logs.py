"""Logging set-up: text or JSON lines, safe to hand to a log collector.

- Secrets (the bot token, every secret setting, the passwords in DATABASE_URL and REDIS_URL)
  are redacted from what is *written*: the message, the traceback and the JSON fields alike,
  so no path around a filter (an exception's text, a library's own log line) can leak them.
- Exception texts are left out below DEBUG: they can quote what a person typed (`int('…')`,
  a database driver's DETAIL line with the row's values). The log keeps what debugging needs:
  the exception's class, the whole traceback (file, line, function, source line), and for
  errors whose text is ours or Telegram's (Telegram API errors, our DomainError codes, the
  SQL statement of a database error, never its values) that text. LOG_LEVEL=DEBUG writes
  the texts in full, secrets still redacted.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import IO, Any
from urllib.parse import quote

TOKEN_PATTERN = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{20,}")
MIN_SECRET_LENGTH = 4  # shorter values are no secret worth the log's legibility
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
SQL_SHOWN = 500  # characters of a failed statement kept in the log
ORIGINAL_CLASS = re.compile(r"Original exception was: (\([\w.]+\))")
SQL_IN_TEXT = re.compile(r"\[SQL: (.*?)\]\n", re.DOTALL)


class Redactor:
    """Replaces every secret, as written or as it appears in a URL or a JSON string."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                forms |= {secret, quote(secret, safe=""), quote(secret),
                          json.dumps(secret, ensure_ascii=False)[1:-1]}
        self.forms = sorted(forms, key=len, reverse=True)  # longest first: no half-replaced

    def __call__(self, text: str) -> str:
        for form in self.forms:
            text = text.replace(form, "***")
        return TOKEN_PATTERN.sub("***", text)


def _qualified(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _own_text(exc: BaseException) -> str | None:
    """An exception's text where it is made by us or by Telegram, not from a person's input."""
    from aiogram.exceptions import TelegramAPIError
    from sqlalchemy.exc import PendingRollbackError, StatementError

    from bot.services.errors import DomainError

    if isinstance(exc, TelegramAPIError):
        return exc.message  # Telegram's description of the rule that was broken
    if isinstance(exc, DomainError):
        return exc.code
    if isinstance(exc, StatementError):  # values are never in it (hide_parameters)
        cause = f"({_qualified(type(exc.orig))}{_error_code(exc.orig)}) " \
            if exc.orig is not None else ""
        return f"{cause}[SQL: {(exc.statement or '')[:SQL_SHOWN]}]"
    if isinstance(exc, PendingRollbackError):
        # The failed flush is only quoted in the text (a commit in a greenlet loses the
        # exception's context): keep its class and statement, not the database's words.
        text = str(exc)
        cause = ORIGINAL_CLASS.search(text)
        sql = SQL_IN_TEXT.search(text)
        return "earlier failure: " + (cause.group(1) + " " if cause else "") + (
            f"[SQL: {sql.group(1)[:SQL_SHOWN]}]" if sql else "")
    return None


def _error_code(driver_error: BaseException) -> str:
    """The database's code for the error (PostgreSQL's SQLSTATE, SQLite's error name): what
    went wrong, without the database's sentence, which may quote the row's values."""
    code = (getattr(driver_error, "sqlstate", None) or getattr(driver_error, "pgcode", None)
            or getattr(driver_error, "sqlite_errorname", None))
    return f" {code}" if isinstance(code, str) and code.replace("_", "").isalnum() else ""


def exception_text(exc: BaseException, full: bool = False) -> str:
    """`module.Class: text` with the text only where it carries no personal data."""
    text = str(exc) if full else _own_text(exc)
    name = _qualified(type(exc))
    return f"{name}: {text}" if text else name


CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _chain(exc: BaseException) -> list[tuple[BaseException, str]]:
    """The exception and those it came from, oldest first, each with the sentence that
    links it to the next one (as Python prints them)."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, CONTEXT
        else:
            current = None
    return chain[::-1]


def format_exception(exc: BaseException, full: bool = False) -> str:
    if full:
        return "".join(traceback.format_exception(exc)).rstrip("\n")
    parts = []
    for current, link_after in _chain(exc):
        frames = "".join(traceback.format_list(traceback.extract_tb(current.__traceback__)))
        parts.append("Traceback (most recent call last):\n" + frames
                     + exception_text(current) + "\n" + link_after)
    return "".join(parts).rstrip("\n")


class _SafeFormatting(logging.Formatter):
    def __init__(self, redact: Redactor, full_exceptions: bool, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.redact, self.full_exceptions = redact, full_exceptions

    def formatException(self, ei: Any) -> str:
        if ei[1] is None:  # logger.exception() outside an except block
            return "NoneType: None"
        return format_exception(ei[1], self.full_exceptions)

    def format(self, record: logging.LogRecord) -> str:
        cached = record.exc_text  # another handler's rendering is not ours to reuse, or keep
        record.exc_text = None
        try:
            return self.redact(self.render(record))
        finally:
            record.exc_text = cached

    def render(self, record: logging.LogRecord) -> str:
        return super().format(record)


class TextFormatter(_SafeFormatting):
    def __init__(self, redact: Redactor, full_exceptions: bool = False) -> None:
        super().__init__(redact, full_exceptions, TEXT_FORMAT)


class JsonFormatter(_SafeFormatting):
    def render(self, record: logging.LogRecord) -> str:
        data = {"time": self.formatTime(record), "level": record.levelname,
                "logger": record.name, "message": self.redact(record.getMessage())}
        if record.exc_info and record.exc_info[1] is not None:
            data["exc"] = self.redact(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


def make_handler(fmt: str, secrets: Iterable[str], full_exceptions: bool = False,
                 stream: IO[str] | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    redact = Redactor(secrets)
    handler.setFormatter(JsonFormatter(redact, full_exceptions) if fmt == "json"
                         else TextFormatter(redact, full_exceptions))
    return handler


def setup_logging(level: str, fmt: str, secrets: Iterable[str],
                  stream: IO[str] | None = None) -> None:
    root = logging.getLogger()
    root.handlers[:] = [make_handler(fmt, secrets, level == "DEBUG", stream)]
    root.setLevel(level)
    # a line per update, per plugin at start-up, per scheduler run (every 5 s) otherwise
    for noisy in ("aiogram.event", "aiogram.middlewares", "alembic.runtime.plugins",
                  "apscheduler.executors.default", "apscheduler.scheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # An exception nobody caught would be printed by Python itself, past the redaction.
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(exc_type: type[BaseException], exc: BaseException,
                  tb: TracebackType | None) -> None:
    logging.getLogger("bot").critical("uncaught exception", exc_info=(exc_type, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or isinstance(args.exc_value, SystemExit):
        return
    name = args.thread.name if args.thread else "?"
    logging.getLogger("bot").critical("uncaught exception in thread %s", name,
                                      exc_info=(args.exc_type, args.exc_value,
                                                args.exc_traceback))
