"""Helpers to run the real `python -m bot run` process against the fake Bot API server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

TOKEN = "123456789:AAE2eTestTokenForTheFakeServer_xyz"
ROOT = Path(__file__).resolve().parent.parent


class BotProcess:
    def __init__(self, base_url: str, db_path: Path, staff_ids: str = "900",
                 extra_env: dict[str, str] | None = None) -> None:
        self.env = {**os.environ, "BOT_TOKEN": TOKEN, "BOT_API_BASE_URL": base_url,
                    "DATABASE_URL": f"sqlite+inline:///{db_path}", "STAFF_IDS": staff_ids,
                    # its own data folder: a test's bot never writes into the checkout
                    "DATA_DIR": str(db_path.with_name(db_path.stem + "-data")),
                    "LOG_LEVEL": "WARNING", "FLOOD_LIMIT": "100000", **(extra_env or {})}
        self.proc: asyncio.subprocess.Process | None = None
        self.log_path = db_path.with_suffix(".log")

    async def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=self.env,
            stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL)

    async def kill(self) -> None:
        assert self.proc
        self.proc.kill()
        await self.proc.wait()

    async def terminate(self, timeout: float = 20) -> int:
        assert self.proc
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


async def wait_until(condition: Callable[[], bool], timeout: float = 120,
                     what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
