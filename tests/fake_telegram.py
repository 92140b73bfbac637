"""A fake Telegram Bot API server over real HTTP (aiohttp), for end-to-end tests.

It implements what the bot uses (getMe, getUpdates with long polling and offsets, send*,
copyMessage, edit*, answerCallbackQuery, setMyCommands, deleteWebhook, getFile …), keeps
every call, and can be told to answer 429 with retry_after, 403, 500, or to stall.
Run standalone: `python -m tests.fake_telegram --port 8081`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT = {"id": 7000000002, "is_bot": True, "first_name": "Fake", "username": "fake_mektep_bot"}


@dataclass
class Fault:
    """Answer `count` calls of `method` (or any send* if "send*") with this status."""

    method: str
    status: int
    count: int = 1
    retry_after: int | None = None
    description: str = "injected fault"
    stall: float = 0.0
    chat_ids: frozenset[int] | None = None  # only calls to these chats


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class FakeTelegram:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.confirmed = 0  # updates with id < confirmed were acknowledged by the bot
        self.faults: list[Fault] = []
        self.file_status = 200  # e.g. 404: a file link that expired, or a server without files
        self._new_update = asyncio.Event()
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self.runner: web.AppRunner | None = None
        self.port = 0

    # --- feeding updates -------------------------------------------------------------
    def add_update(self, payload: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, **payload})
        self._new_update.set()
        return update_id

    def user_text(self, user_id: int, text: str, first_name: str = "E2E") -> int:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": first_name}, "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        return self.add_update({"message": message})

    def user_press(self, user_id: int, data: str) -> int:
        return self.add_update({"callback_query": {
            "id": str(next(self._ids)), "chat_instance": "e2e", "data": data,
            "from": {"id": user_id, "is_bot": False, "first_name": "E2E"},
            "message": {"message_id": 1, "date": int(time.time()), "text": "…",
                        "chat": {"id": user_id, "type": "private"}, "from": BOT}}})

    # --- reading what the bot did ----------------------------------------------------
    def sent(self, chat_id: int | None = None, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.method.startswith(("send", "copy", "edit"))
                and (method is None or c.method == method)
                and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))]

    def buttons(self, chat_id: int) -> list[dict[str, Any]]:
        for call in reversed(self.sent(chat_id)):
            markup = call.params.get("reply_markup")
            if markup:
                markup = json.loads(markup) if isinstance(markup, str) else markup
                return [b for row in markup.get("inline_keyboard", []) for b in row]
        return []

    # --- server ----------------------------------------------------------------------
    async def start(self, port: int = 0) -> str:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._file)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        data = await request.post()
        params: dict[str, Any] = {}
        for key, value in data.items():
            params[key] = value if isinstance(value, str) else f"<file {key}>"
        return params

    async def _file(self, request: web.Request) -> web.Response:
        if self.file_status != 200:
            return web.Response(status=self.file_status, text="Not Found")
        return web.Response(body=b"fake file content")

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        if method == "getUpdates":
            return _ok(await self._get_updates(params))
        fault = self._fault_for(method, params)
        if fault is not None:
            if fault.stall:
                await asyncio.sleep(fault.stall)
            body: dict[str, Any] = {"ok": False, "error_code": fault.status,
                                    "description": fault.description}
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            self.calls.append(Call(f"!{method}", params))
            return web.json_response(body, status=fault.status)
        self.calls.append(Call(method, params))
        return _ok(self._result(method, params))

    def _fault_for(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self.faults:
            matches = fault.method == method or (fault.method == "send*"
                                                 and method.startswith(("send", "copy")))
            if fault.chat_ids is not None:
                matches = matches and int(params.get("chat_id") or 0) in fault.chat_ids
            if matches and fault.count > 0:
                fault.count -= 1
                return fault
        return None

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        if offset:
            self.confirmed = max(self.confirmed, offset)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        while True:
            pending = [u for u in self.updates if u["update_id"] >= self.confirmed]
            if pending or time.monotonic() >= deadline:
                return pending[:limit]
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT
        if method == "getFile":
            return {"file_id": params.get("file_id"), "file_unique_id": "u",
                    "file_path": "documents/file"}
        if method == "copyMessage":
            return {"message_id": next(self._message_ids)}
        if method.startswith("send") or method.startswith("edit"):
            chat_id = int(params.get("chat_id") or 0)
            message: dict[str, Any] = {
                "message_id": int(params.get("message_id") or next(self._message_ids)),
                "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                "from": BOT}
            if params.get("text"):
                message["text"] = params["text"]
            if method == "sendMediaGroup":
                return [dict(message, message_id=next(self._message_ids))]
            for kind in ("photo", "document", "video"):
                if kind in params:
                    meta = {"file_id": f"f{next(self._ids)}", "file_unique_id": "u"}
                    message[kind] = [dict(meta, width=1, height=1)] if kind == "photo" else \
                        dict(meta, width=1, height=1, duration=1) if kind == "video" else meta
            return message
        return True


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


async def _serve(port: int) -> None:
    fake = FakeTelegram()
    url = await fake.start(port)
    print(f"fake Telegram Bot API on {url}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8081)
    asyncio.run(_serve(parser.parse_args().port))
