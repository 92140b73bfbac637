"""Hostile and broken input: random sequences of every update type never crash the bot,
never leave anyone stuck, and never corrupt what is stored."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from db.models import User
from tests.harness import make_harness

USERS = [301, 302, 303]
ids = itertools.count(10_000)

texts = st.one_of(
    st.text(max_size=50),
    st.sampled_from(["/start", "/help", "/cancel", "/profile", "/broadcast", "/stats",
                     "/newchallenge", "/deleteme", "/language", "/start inv_bogus",
                     "/start j_nothing", "/start v_123", "1", "English"]),
    st.just("ж" * 5000), st.just("\u202eRTL\u202c עברית مرحبا 👋🏽" * 20),
    st.just("\udcff".encode("utf-8", "surrogatepass").decode("utf-8", "replace")),
)
callback_data = st.one_of(
    st.text(max_size=64),
    st.sampled_from(["lang:en", "lang:xx", "reg:role:student", "reg:region:999",
                     "reg:district:1", "pg:1:99", "cfm:consent:1", "cfm:erase:1",
                     "appr:1:1", "prof:grade", "reg:role:staff"]),
)


def chat(uid: int, kind: str = "private") -> dict:
    return {"id": uid if kind == "private" else -100_000 - uid, "type": kind,
            "title": "Coordinators" if kind != "private" else None}


def sender(uid: int) -> dict:
    return {"id": uid, "is_bot": False, "first_name": "H"}


def message(uid: int, kind: str = "private", **content) -> dict:
    return {"message_id": next(ids), "date": 0, "chat": chat(uid, kind), "from": sender(uid),
            **content}


@st.composite
def updates(draw) -> dict:
    uid = draw(st.sampled_from(USERS))
    kind = draw(st.sampled_from([
        "text", "text", "text", "callback", "callback", "sticker", "photo", "voice", "contact",
        "location", "edited", "group", "channel", "blocked", "unblocked", "inline", "poll",
        "document"]))
    if kind == "text":
        text = draw(texts)
        ent = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] \
            if text.startswith("/") and text.split() else []
        return {"message": message(uid, text=text, entities=ent)}
    if kind == "callback":
        return {"callback_query": {"id": str(next(ids)), "from": sender(uid),
                                   "chat_instance": "x", "data": draw(callback_data),
                                   "message": message(uid, text="…")}}
    if kind == "sticker":
        return {"message": message(uid, sticker={
            "file_id": "s", "file_unique_id": "s", "type": "regular", "width": 1,
            "height": 1, "is_animated": False, "is_video": False})}
    if kind == "photo":
        return {"message": message(uid, photo=[{"file_id": "p", "file_unique_id": "p",
                                                "width": 1, "height": 1}],
                                   caption=draw(st.text(max_size=1100)))}
    if kind == "document":
        return {"message": message(uid, document={"file_id": "d", "file_unique_id": "d",
                                                  "file_size": 10**9})}
    if kind == "voice":
        return {"message": message(uid, voice={"file_id": "v", "file_unique_id": "v",
                                               "duration": 3})}
    if kind == "contact":
        return {"message": message(uid, contact={"phone_number": "+7700", "first_name": "X"})}
    if kind == "location":
        return {"message": message(uid, location={"latitude": 43.2, "longitude": 76.9})}
    if kind == "edited":
        return {"edited_message": message(uid, text=draw(texts), edit_date=1)}
    if kind == "group":
        return {"message": message(uid, "supergroup", text=draw(texts))}
    if kind == "channel":
        return {"channel_post": {"message_id": next(ids), "date": 0,
                                 "chat": {"id": -1001, "type": "channel", "title": "C"},
                                 "text": draw(texts)}}
    if kind == "inline":
        return {"inline_query": {"id": str(next(ids)), "from": sender(uid),
                                 "query": draw(st.text(max_size=20)), "offset": ""}}
    if kind == "poll":
        return {"message": message(uid, poll={
            "id": "p", "question": "?",
            "options": [{"text": "a", "voter_count": 0, "persistent_id": "a"}],
            "total_voter_count": 0, "is_closed": False, "is_anonymous": True,
            "type": "regular", "allows_multiple_answers": False, "allows_revoting": False,
            "members_only": False})}
    status = "kicked" if kind == "blocked" else "member"
    return {"my_chat_member": {
        "chat": chat(uid), "from": sender(uid), "date": 0,
        "old_chat_member": {"status": "member" if status == "kicked" else "kicked",
                            "user": {"id": 1, "is_bot": True, "first_name": "B"},
                            **({"until_date": 0} if status == "member" else {})},
        "new_chat_member": {"status": status,
                            "user": {"id": 1, "is_bot": True, "first_name": "B"},
                            **({"until_date": 0} if status == "kicked" else {})}}}


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(sequence=st.lists(updates(), min_size=5, max_size=25))
def test_random_update_sequences(tmp_path_factory, sequence):
    import asyncio

    asyncio.run(_run_sequence(str(tmp_path_factory.mktemp("hostile") / "bot.db"), sequence))


async def _run_sequence(db_path: str, sequence: list[dict]) -> None:
    h = await make_harness(db_path, staff_ids=frozenset({USERS[0]}), flood_limit=1000)
    try:
        errors_before = _error_replies(h)
        for payload in sequence:
            # feed_update raising would mean an exception escaped the error router
            await h.feed(payload)
        assert _error_replies(h) == errors_before, "a handler failed on hostile input"
        for uid in USERS:  # nobody is stuck: /cancel then /start always answer
            u = h.user(uid)
            await u.send("/cancel")
            replies = await u.send("/start")
            assert any(c.method == "sendMessage" for c in replies), f"{uid} got no answer"
        async with h.app.sessionmaker() as s:
            count = await s.scalar(select(func.count()).select_from(User))
            assert count <= len(USERS)
            for user in (await s.scalars(select(User))).all():
                assert user.role in ("student", "coordinator", "staff")
                assert user.locale in ("kk", "ru", "en")
    finally:
        await h.close()


def _error_replies(h) -> int:
    apologies = ("Something went wrong", "Бірдеңе дұрыс болмады", "Что-то пошло не так")
    return sum(1 for t in h.api.texts() if any(a in t for a in apologies))
