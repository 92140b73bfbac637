"""Profile edits through the Dispatcher: a faction change by button (validated, stored, logged,
then the profile shown again) and a name typed in the edit state, 1,000 registered students."""

from __future__ import annotations

import itertools

from bench.bench_core import press, rate
from bench.common import bench_app
from bot.callbacks import ProfileCD
from db.base import utcnow
from db.models import User

USERS = 1000
UPDATES = 3000
FACTIONS = ("happiness", "care", "law_order", "self_knowledge")
ids = itertools.count(10_000_000)


def text(tg_id: int, value: str) -> dict:
    return {"update_id": next(ids), "message": {
        "message_id": next(ids), "date": 0, "chat": {"id": tg_id, "type": "private"},
        "from": {"id": tg_id, "is_bot": False, "first_name": "U"}, "text": value}}


async def main() -> None:
    app, _api, _ = await bench_app()
    async with app.sessionmaker() as s, s.begin():
        s.add_all([User(tg_id=20_000 + i, chat_id=20_000 + i, role="student", status="active",
                        locale="en", region_id=1, org_type="school", org_name="School",
                        faction="care", position="member", grade="9", consent_at=utcnow(),
                        consent_version="b") for i in range(USERS)])
    users = [20_000 + i % USERS for i in range(UPDATES)]
    await rate(app, [press(u, ProfileCD(field="faction", value="care").pack())
                     for u in users[:300]])  # warm-up
    edits = [press(u, ProfileCD(field="faction", value=FACTIONS[i % 4]).pack())
             for i, u in enumerate(users)]
    print(f"profile edit by button (faction), {USERS} users: "
          f"{await rate(app, edits):,.0f} updates/s (target >= 400)")
    # A typed name: one press opens the editor for every user, then the text is the write.
    await rate(app, [press(20_000 + i, ProfileCD(field="name").pack()) for i in range(USERS)])
    names = [text(20_000 + i, f"Student Number {i}") for i in range(USERS)]
    print(f"profile edit by text (name), {USERS} users: "
          f"{await rate(app, names):,.0f} updates/s (target >= 400)")
    await app.close()
