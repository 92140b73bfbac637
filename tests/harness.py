"""Test harness: the production Dispatcher with only the transport replaced.

`BotHarness` feeds real aiogram Update objects to the factory-built Dispatcher and the
LocalSession records every Bot API call; each test gets a fresh, migrated SQLite file.
`FakeUser` sends text and presses buttons like a person would.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram.types import Update

from bot.app import App, RouterBuilder
from bot.config import Settings
from bot.factory import build_app, prepare
from bot.local_api import BOT_ID, ApiCall, LocalSession
from handlers import setup_routers

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


class Clock:
    """A controllable clock: tests move time instead of sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.value = start or datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **kwargs: float) -> datetime:
        self.value += timedelta(**kwargs)
        return self.value


class BotHarness:
    def __init__(self, app: App, api: LocalSession) -> None:
        self.app, self.api = app, api

    @property
    def dp(self):
        return self.app.dp

    async def feed(self, payload: dict[str, Any], **kwargs: Any) -> Any:
        payload = {"update_id": next(_update_ids), **payload}
        update = Update.model_validate(payload, context={"bot": self.app.bot})
        return await self.app.dp.feed_update(self.app.bot, update, **kwargs)

    def user(self, tg_id: int, first_name: str = "Test", language_code: str | None = None,
             username: str | None = None) -> FakeUser:
        return FakeUser(self, tg_id, first_name, language_code, username)

    async def drain(self) -> int:
        """Run the delivery queue until nothing is due."""
        return await self.app.delivery.drain()

    async def close(self) -> None:
        await self.app.close()


class FakeUser:
    """A Telegram user in a private chat with the bot."""

    def __init__(self, h: BotHarness, tg_id: int, first_name: str,
                 language_code: str | None, username: str | None = None) -> None:
        self.h, self.id, self.first_name, self.language_code = h, tg_id, first_name, language_code
        self.username = username  # their Telegram @username (without "@"), if any

    def _from(self) -> dict[str, Any]:
        data = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            data["language_code"] = self.language_code
        if self.username:
            data["username"] = self.username
        return data

    def _message(self, **content: Any) -> dict[str, Any]:
        return {"message_id": next(_message_ids), "date": int(datetime.now(UTC).timestamp()),
                "chat": {"id": self.id, "type": "private"}, "from": self._from(), **content}

    async def send(self, text: str) -> list[ApiCall]:
        """Send text; returns the Bot API calls the bot made in reply."""
        start = len(self.h.api.calls)
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0,
                         "length": len(text.split()[0])}]
        await self.h.feed({"message": self._message(text=text, entities=entities)})
        return self.h.api.calls[start:]

    async def send_content(self, **content: Any) -> list[ApiCall]:
        """Send any message content (photo=[...], sticker={...}, document={...}, ...)."""
        start = len(self.h.api.calls)
        await self.h.feed({"message": self._message(**content)})
        return self.h.api.calls[start:]

    async def press(self, callback_data: str, message_id: int = 1,
                    message_text: str = "…") -> list[ApiCall]:
        start = len(self.h.api.calls)
        await self.h.feed({"callback_query": {
            "id": str(next(_update_ids)), "from": self._from(), "chat_instance": "ci",
            "data": callback_data,
            "message": {"message_id": message_id, "date": 0, "text": message_text,
                        "chat": {"id": self.id, "type": "private"},
                        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bot"}},
        }})
        return self.h.api.calls[start:]

    async def click(self, button_text: str) -> list[ApiCall]:
        """Press the inline button with this text in the last message that has it."""
        for call in reversed(self.h.api.calls):
            if call.chat_id != self.id:
                continue
            for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button_text in button["text"] and button.get("callback_data"):
                        return await self.press(button["callback_data"],
                                                message_id=1, message_text=call.text or "")
        raise AssertionError(f"no button {button_text!r} was shown to {self.id}")

    def buttons(self) -> list[str]:
        call = self.h.api.last(self.id)
        rows = (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
        return [b["text"] for row in rows for b in row]

    def last_text(self) -> str:
        return self.h.api.last(self.id).text or ""

    def texts(self) -> list[str]:
        return self.h.api.texts(self.id)


_template: dict[str, str] = {}


async def migrated_copy(db_path: str) -> None:
    """A fresh SQLite database at db_path: migrations run once per test session, then the
    migrated file is copied (a restart on an existing file migrates what is there)."""
    import os
    import shutil
    import tempfile

    from db.migrate import upgrade_async

    if os.path.exists(db_path):
        await upgrade_async(f"sqlite+inline:///{db_path}")
        return
    if "path" not in _template:
        path = os.path.join(tempfile.mkdtemp(prefix="template-"), "template.db")
        await upgrade_async(f"sqlite+inline:///{path}")
        _template["path"] = path
    shutil.copyfile(_template["path"], db_path)


def on_postgres() -> bool:
    """TEST_DB=postgres: the suite runs on the PostgreSQL server named by TEST_POSTGRES_URL."""
    import os

    return os.environ.get("TEST_DB") == "postgres"


# TEST_DB=postgres: every SQLite path a test names (tmp_path/"bot.db", ...) stands for one
# PostgreSQL database of its own, created on first use; a test that "restarts" on that path
# reaches the same database. conftest drops them after each test (`drop_server_databases`).
DB_ALIASES: dict[str, str] = {}


async def database_for(db_path: str) -> str:
    """The database a test's path names: the path itself on SQLite, else its server twin."""
    if "://" in db_path or not on_postgres():
        return db_path
    if db_path not in DB_ALIASES:
        from tests import pg

        DB_ALIASES[db_path] = await pg.new_database()
    return DB_ALIASES[db_path]


async def drop_server_databases() -> None:
    from tests import pg

    while DB_ALIASES:
        _, url = DB_ALIASES.popitem()
        await pg.drop(url)


async def make_harness(db_path: str, clock: Clock | None = None, *,
                       routers: RouterBuilder = setup_routers, **settings: Any) -> BotHarness:
    """The production app on a fresh database; `routers` replaces the conversation's."""
    db_path = await database_for(db_path)
    if "://" in db_path:  # a server database (PostgreSQL runs of the suite)
        url = db_path
        if "data_dir" not in settings:  # caches: not ./data of the checkout
            import tempfile

            settings["data_dir"] = tempfile.mkdtemp(prefix="data-")
    else:
        url = f"sqlite+inline:///{db_path}"
        await migrated_copy(db_path)
    api = LocalSession()
    app = build_app(Settings(database_url=url, _env_file=None, **settings),
                    routers=routers, session=api)
    if clock is not None:
        app.clock = clock
        app.users.clock = lambda: clock().timestamp()  # cached users expire on test time
    await prepare(app)
    return BotHarness(app, api)
