"""End to end over real HTTP (issue 16): one `python -m bot run` with Telegram (the fake Bot
API, long polling) and WhatsApp (the fake Cloud API, signed webhooks to the bot's port).

A student registers in Kazakh over WhatsApp and sends a photo entry; staff review it on
Telegram (the photo reaches them) and she hears the result on WhatsApp. Then staff broadcast
to every student: Telegram people (some blocked the bot) and WhatsApp people, a third of them
outside the 24-hour window (they get the approved announcement template in their language),
some unreachable (131026), with throughput, pair-rate and server refusals on both
channels. The bot is killed (`kill -9`) mid-way and started again; then
every reachable person has it, only rows claimed and unfinished at the kill may repeat, and
nobody unreachable is tried again."""

from __future__ import annotations

import bisect
import json
import re
import sqlite3
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bot.notices import templates
from db.base import utcnow
from db.models import User, WaContact
from tests import fake_whatsapp as fw
from tests.e2e import BotProcess, wait_until
from tests.factories import make_staff, place_ids
from tests.fake_telegram import FakeTelegram, Fault
from tests.harness import make_harness
from tests.test_challenges import new_challenge
from tests.test_e2e_whatsapp import _listening, free_port

pytestmark = pytest.mark.e2e
STAFF = 900
AIGERIM = "KZ.77777777777777777777"  # registers over WhatsApp in the test
TELEGRAM = list(range(60_000, 60_300))
TG_BLOCKED = frozenset(TELEGRAM[::30])  # 10 blocked the bot
WHATSAPP = [f"KZ.{n:020d}" for n in range(150)]
OUTSIDE = frozenset(WHATSAPP[::3])  # 50 silent for over 24 hours
WA_UNREACHABLE = frozenset(WHATSAPP[1::30] + WHATSAPP[::75])  # 5 inside, 2 outside
LOCALES = ("kk", "ru", "en")
ANNOUNCEMENT = "Parliament session on Friday at 15:00"
PNG = b"\x89PNG\r\n\x1a\n our class at the parliament session"
NUMBERED = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)


async def seed(tmp_path: Path) -> tuple[int, dict[str, int]]:
    """The database before the bot starts: staff, a photo contest, the audience.
    Returns the contest's id and each WhatsApp person's chat id."""
    h = await make_harness(str(tmp_path / "bot.db"), staff_ids=frozenset({STAFF}),
                           data_dir=tmp_path / "data")
    try:
        await make_staff(h, STAFF)
        contest = await new_challenge(h, "contest", content=("photo",))
        region, district = await place_ids(h)
        now = utcnow()
        common = {"role": "student", "status": "active", "region_id": region,
                  "district_id": district, "org_type": "school", "org_name": "School No. 1",
                  "consent_at": now, "consent_version": h.app.settings.consent_version}
        async with h.app.sessionmaker() as s:
            contacts = [WaContact(address=a, last_inbound_at=now - timedelta(
                hours=30 if a in OUTSIDE else 1)) for a in WHATSAPP]
            s.add_all(contacts)
            await s.flush()
            people = [User(tg_id=tg, chat_id=tg, locale="en", **common) for tg in TELEGRAM]
            # WhatsApp people among the Telegram ones: the queue's rows alternate channels
            for i, c in enumerate(contacts):
                people.insert(2 * i + 1, User(tg_id=-c.id, chat_id=-c.id, channel="whatsapp",
                                              locale=LOCALES[i % 3], **common))
            s.add_all(people)
            await s.commit()
            return contest, {c.address: -c.id for c in contacts}
    finally:
        await h.close()


class Person:
    """Someone writing to the bot's WhatsApp number: signed webhooks to its port."""

    def __init__(self, api: fw.FakeCloudApi, port: int, address: str, name: str) -> None:
        self.api, self.port, self.address, self.name = api, port, address, name

    async def post(self, message: dict) -> None:
        body = json.dumps(fw.webhook(self.address, message, self.name)).encode()
        async with httpx.AsyncClient() as client:
            answer = await client.post(f"http://127.0.0.1:{self.port}/whatsapp", content=body,
                                       headers={"Content-Type": "application/json",
                                                "X-Hub-Signature-256": fw.signature(body)})
        assert answer.status_code == 200, answer.text

    async def choose(self, title: str) -> None:
        """Tap the reply button or list row offered with `title`, or type its number."""
        await wait_until(lambda: self._option(title) is not None, 30, f"option {title!r}")
        await self.post(self._option(title))  # type: ignore[arg-type]

    def _option(self, title: str) -> dict | None:
        for sent in reversed(self.api.to(self.address)):
            for option, data in zip(sent.titles, sent.ids, strict=True):
                full = sent.descriptions[sent.titles.index(option)] or option \
                    if sent.type == "list" else option
                if title in full and sent.type in ("buttons", "list"):
                    reply = fw.button_reply if sent.type == "buttons" else fw.list_reply
                    return reply(data, option)
            for number, option in NUMBERED.findall(sent.body):
                if title in option:
                    return fw.text(number)
        return None

    def texts(self) -> list[str]:
        return [s.body or s.caption or "" for s in self.api.to(self.address)]


async def register_and_submit(aigerim: Person, api: fw.FakeCloudApi, contest: int) -> None:
    await aigerim.post(fw.text("/start"))
    for step in ("Қазақша", "Парламент мүшесі", "Мектеп", "Абай облысы", "Семей"):
        await aigerim.choose(step)
    await aigerim.post(fw.text("№7 мектеп"))
    for step in ("Бақыт", "Фракция жетекшісі"):
        await aigerim.choose(step)
    await aigerim.post(fw.text("9"))
    await aigerim.choose("16–17")
    await aigerim.choose("Келісемін")
    await wait_until(lambda: any("Тіркелу аяқталды" in t for t in aigerim.texts()), 30,
                     "registration done")
    await aigerim.post(fw.button_reply(f"ch:submit:{contest}:", "Жіберу"))
    await aigerim.post(fw.media("image", api.add_media(PNG, "image/png"), "image/png",
                                caption="Біздің сынып"))
    await aigerim.choose("Түсініктемесіз")
    await wait_until(lambda: any("№ 1 жұмысыңыз алынды" in t for t in aigerim.texts()), 30,
                     "entry received")


async def press(fake: FakeTelegram, text: str) -> None:
    await wait_until(lambda: any(text in b["text"] for b in fake.buttons(STAFF)), 30,
                     f"button {text!r}")
    button = next(b for b in fake.buttons(STAFF) if text in b["text"])
    fake.user_press(STAFF, button["callback_data"])


def telegram_got(fake: FakeTelegram) -> Counter:
    return Counter(int(c.params["chat_id"]) for c in fake.sent(method="sendMessage")
                   if c.params.get("text") == ANNOUNCEMENT)


def whatsapp_got(api: fw.FakeCloudApi) -> Counter:
    return Counter(s.to for s in api.sent if s.body == ANNOUNCEMENT)


def rows(db: Path, status: str) -> set[int]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute(
            "select chat_id from deliveries where source_type = 'broadcast' and status = ?",
            (status,))}


async def test_mixed_broadcast_killed_mid_way_reaches_everyone_on_their_channel(tmp_path):
    contest, wa_ids = await seed(tmp_path)
    db = tmp_path / "bot.db"
    fake, api = FakeTelegram(), fw.FakeCloudApi()
    await fake.start()
    served = await fw.serve(api)
    api.templates = [{"name": t.name, "language": t.language, "status": "APPROVED"}
                     for t in templates.required()]
    api.window_closed |= OUTSIDE
    api.undeliverable |= WA_UNREACHABLE
    fake.faults.append(Fault("send*", 403, count=10_000, chat_ids=TG_BLOCKED,
                             description="Forbidden: bot was blocked by the user"))
    port = free_port()
    env = {"DELIVERY_RATE": "100", "WHATSAPP_RATE": "80", "DATA_DIR": str(tmp_path / "data"),
           "WHATSAPP_TOKEN": fw.TOKEN, "WHATSAPP_PHONE_NUMBER_ID": fw.PHONE_ID,
           "WHATSAPP_APP_SECRET": fw.APP_SECRET, "WHATSAPP_VERIFY_TOKEN": fw.VERIFY_TOKEN,
           "WHATSAPP_API_BASE_URL": api.base_url, "WEBHOOK_PORT": str(port)}
    bot = BotProcess(f"http://127.0.0.1:{fake.port}", db, extra_env=env)
    restarted = None
    await bot.start()
    try:
        await wait_until(lambda: _listening(port), 120, "the WhatsApp webhook")
        aigerim = Person(api, port, AIGERIM, "Айгерім")
        await register_and_submit(aigerim, api, contest)

        fake.user_text(STAFF, "/review")  # staff on Telegram: the photo, then the verdict
        await press(fake, "Approve")
        assert fake.sent(STAFF, "sendPhoto"), "the WhatsApp photo reached the reviewer"
        await wait_until(lambda: any("№ 1 жұмысыңыз мақұлданды" in t
                                     for t in aigerim.texts()), 30, "the result on WhatsApp")

        before = len(fake.sent(STAFF))
        fake.user_text(STAFF, "/broadcast")
        await wait_until(lambda: len(fake.sent(STAFF)) > before, 30, "compose prompt")
        fake.user_text(STAFF, ANNOUNCEMENT)
        await press(fake, "Students")
        await press(fake, "No confirmation")
        # Meta's throughput and pair-rate refusals and its 5xx, on the first WhatsApp sends
        for code, status in ((130429, 400), (131056, 400), (131000, 500), (130429, 400),
                             (131000, 503), (131056, 400)):
            api.fail_next(code, status)
        fake.faults += [Fault("send*", 429, retry_after=1, description="Too Many Requests",
                              chat_ids=frozenset(TELEGRAM)),
                        Fault("send*", 500, count=2, chat_ids=frozenset(TELEGRAM))]
        await press(fake, "Send now")
        audience = len(TELEGRAM) + len(WHATSAPP) + 1
        await wait_until(lambda: sum(telegram_got(fake).values())
                         + sum(whatsapp_got(api).values()) >= audience // 3, 60,
                         "a third of the broadcast")
        await bot.kill()
        in_flight = rows(db, "sending")  # claimed, not finished: the only ones that may repeat
        done_before = rows(db, "sent") | rows(db, "blocked")
        assert rows(db, "queued") | in_flight, "killed mid-way, not after the broadcast"
        restarted = BotProcess(f"http://127.0.0.1:{fake.port}", db, extra_env=env)
        await restarted.start()

        reachable_tg = [tg for tg in TELEGRAM if tg not in TG_BLOCKED]
        reachable_wa = [a for a in WHATSAPP if a not in WA_UNREACHABLE] + [AIGERIM]
        await wait_until(lambda: all(telegram_got(fake)[tg] for tg in reachable_tg)
                         and all(whatsapp_got(api)[a] for a in reachable_wa), 120,
                         "every reachable person")
        await wait_until(lambda: not rows(db, "queued") and not rows(db, "sending"), 30,
                         "every row finished")
        with sqlite3.connect(db) as conn:
            wa_ids[AIGERIM] = -conn.execute("select id from wa_contacts where address = ?",
                                            (AIGERIM,)).fetchone()[0]
        check_channels(api, fake)
        check_repeats(api, fake, wa_ids, in_flight, done_before)
        assert rows(db, "blocked") == TG_BLOCKED | {wa_ids[a] for a in WA_UNREACHABLE}
        assert not rows(db, "failed")
        check_people(db, wa_ids)
        check_pace(api, fake)
    finally:
        for process in (restarted, bot):
            if process and process.proc and process.proc.returncode is None:
                await process.terminate()
        await fake.stop()
        await served.cleanup()


def check_channels(api: fw.FakeCloudApi, fake: FakeTelegram) -> None:
    """Each person got it on their own channel; outside the window the template in their
    language, inside it the message itself; no free-form was tried outside the window."""
    wa_locale = {a: LOCALES[i % 3] for i, a in enumerate(WHATSAPP)}
    for sent in (s for s in api.sent if s.body == ANNOUNCEMENT):
        if sent.to in OUTSIDE:
            assert (sent.type, sent.template, sent.language) == (
                "template", "mektep_announcement", wa_locale[sent.to]), sent
        else:
            assert sent.type == "text", sent
    assert not [b for b, code in api.refused if code == 131047]
    assert set(telegram_got(fake)) - set(TELEGRAM) == {STAFF}  # the author's preview
    assert not (set(whatsapp_got(api)) & WA_UNREACHABLE)
    assert not any(t < 0 for t in telegram_got(fake))  # WhatsApp people never via Telegram


def check_people(db: Path, wa_ids: dict[str, int]) -> None:
    """She is stored as a Kazakh-speaking WhatsApp student; the unreachable are marked."""
    with sqlite3.connect(db) as conn:
        aigerim = conn.execute("select channel, locale, role, status from users where "
                               "chat_id = ?", (wa_ids[AIGERIM],)).fetchone()
        marked = {r[0] for r in conn.execute("select chat_id from users where blocked_bot")}
    assert aigerim == ("whatsapp", "kk", "student", "active")
    assert marked == TG_BLOCKED | {wa_ids[a] for a in WA_UNREACHABLE}


def check_pace(api: fw.FakeCloudApi, fake: FakeTelegram) -> None:
    """Paced on each channel, across the kill too (a little over the rate: arrival jitter
    of at most one send per sender)."""
    for rate, times in ((80, [s.at for s in api.sent if s.body == ANNOUNCEMENT]),
                        (100, [c.at for c in fake.calls if c.params.get("text") == ANNOUNCEMENT])):
        times.sort()
        busiest = max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))
        assert busiest <= rate + 8, (rate, busiest)


def check_repeats(api: fw.FakeCloudApi, fake: FakeTelegram, wa_ids: dict[str, int],
                  in_flight: set[int], done_before: set[int]) -> None:
    """Repeats only of rows claimed and unfinished at the kill (at most that many), and
    nobody unreachable tried again once their row said so."""
    got = telegram_got(fake) - Counter({STAFF: 1}) + Counter({wa_ids[a]: n
                                        for a, n in whatsapp_got(api).items()})
    repeated = {chat for chat, n in got.items() if n > 1}
    duplicates = sum(n - 1 for n in got.values())
    assert duplicates <= len(in_flight), (duplicates, len(in_flight))
    assert repeated <= in_flight, repeated - in_flight
    tries = Counter(int(c.params["chat_id"]) for c in fake.calls
                    if c.method.startswith("!send") and int(c.params["chat_id"]) in TG_BLOCKED)
    tries += Counter(wa_ids[b.get("to") or b["recipient"]] for b, code in api.refused
                     if code == 131026)
    for chat, n in tries.items():
        assert n == 1 or (n == 2 and chat in in_flight and chat not in done_before), (chat, n)
