from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from tests.harness import BotHarness, Clock, make_harness

os.environ.pop("BOT_TOKEN", None)
STAFF_ID = 900


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def h(tmp_path, clock) -> AsyncIterator[BotHarness]:
    harness = await make_harness(str(tmp_path / "bot.db"), clock, staff_ids=frozenset({STAFF_ID}))
    yield harness
    await harness.close()
