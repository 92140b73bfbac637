"""Demo data: realistic, reproducible (seeded) users, challenges, webinars and activity.

`python -m bot seed-demo --users N --events M` calls `seed_demo`; the statistics benchmark
uses it too. Users get ids after the existing ones, so a database can be seeded twice.
"""

from __future__ import annotations

import logging
import random
from bisect import bisect
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker

from db.models import (
    ActivityLog,
    Delivery,
    District,
    Organisation,
    OutboxPayload,
    Region,
    User,
)
from db.org_names import org_key

logger = logging.getLogger(__name__)
CHUNK = 20_000
DAYS = 365
TG_BASE = 8_000_000_000

# Share of the non-registration events by kind (the participant is the row's user).
EVENT_MIX = (
    ("challenge_join", 30), ("submission", 20), ("submission_approved", 12),
    ("submission_rejected", 4), ("submission_withdrawn", 1), ("winner", 2),
    ("webinar_register", 15), ("webinar_unregister", 1), ("webinar_attend", 9),
    ("profile_edit", 5), ("broadcast_sent", 1),
)
FACTIONS = ("self_knowledge", "happiness", "law_order", "care")
# Bare names: the bot's texts add the kind and the quotes («{title}» челленджі).
CHALLENGE_TITLES = (
    ("challenge", "Кітап – өмір", "Книга – жизнь", "Books are life"),
    ("action", "Таза әлем", "Чистый мир", "Clean world"),
    ("contest", "Үздік парламент", "Лучший парламент", "Best parliament"),
    ("action", "Қамқорлық", "Забота", "Care"),
    ("contest", "Менің мектебім", "Моя школа", "My school"),
)
WEBINAR_TITLES = (
    ("Мектеп парламентінің жұмысын ұйымдастыру", "Как организовать работу школьного "
     "парламента", "Organising a school parliament"),
    ("Еріктілік: алғашқы қадамдар", "Волонтёрство: первые шаги", "Volunteering: first steps"),
    ("Медиасауаттылық", "Медиаграмотность", "Media literacy"),
)
SPEAKERS = ("Айгүл Сәрсенова", "Ерлан Қасымов", "Дина Жұмабаева", "Нұрлан Әбенов",
            "Ольга Ким", "Мәди Өтегенов")


def _pick(rng: random.Random, cum: Sequence[float], items: Sequence[Any]) -> Any:
    return items[bisect(cum, rng.random() * cum[-1])]


async def seed_demo(sessionmaker: async_sessionmaker, users: int, events: int, seed: int,
                    now: datetime | None = None) -> dict[str, int]:
    """Add `users` people and about `events` activity rows over the last year."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    async with sessionmaker() as session:
        conn = await session.connection()
        regions = (await session.scalars(select(Region.id).order_by(Region.id))).all()
        districts = (await session.execute(select(District.id, District.region_id))).all()
        first_id = (await session.scalar(select(func.max(User.id))) or 0) + 1
        by_region: dict[int, list[int]] = {}
        for did, rid in districts:
            by_region.setdefault(rid, []).append(did)
        region_w = list(accumulate(rng.uniform(0.4, 3.0) for _ in regions))
        people = _people(rng, users, first_id, regions, region_w, by_region, now)
        await _file_organisations(conn, people, now)
        await _insert(conn, User, people)
        challenges = await _challenges(conn, rng, max(5, events // 25_000), now)
        webinars = await _webinars(conn, rng, max(3, events // 40_000), now)
        rows = _events(rng, people, events, challenges, webinars, now)
        rows.sort(key=lambda r: r["at"])  # as the log grows: in time order
        await _insert(conn, ActivityLog, rows)
        deliveries = await _deliveries(conn, rng, rows, people, events // 5)
        await _entities(conn, rng, rows)
        await session.commit()
    logger.info("demo: %d users, %d events, %d deliveries", len(people), len(rows),
                deliveries)
    return {"users": len(people), "events": len(rows), "deliveries": deliveries,
            "challenges": len(challenges), "webinars": len(webinars)}


async def _file_organisations(conn: AsyncConnection, people: list[dict[str, Any]],
                              now: datetime) -> None:
    """One record per (place, type, name) of the people, as registration files them; each
    person's row gets its record's id (ids from the database: its sequence stays right)."""
    members: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for person in people:
        person["organisation_id"] = None
        if person["org_name"] and person["region_id"] is not None:
            members.setdefault((person["region_id"], person["district_id"],
                                person["org_type"] or "school", org_key(person["org_name"])),
                               []).append(person)
    places = list(members)
    rows = [{"region_id": r, "district_id": d, "org_type": t, "name": members[p][0]["org_name"],
             "key": k, "created_at": now} for p in places for r, d, t, k in [p]]
    for start in range(0, len(rows), CHUNK):
        ids = (await conn.execute(
            insert(Organisation).returning(Organisation.id, sort_by_parameter_order=True),
            rows[start:start + CHUNK])).scalars().all()
        for place, org_id in zip(places[start:start + CHUNK], ids, strict=True):
            for person in members[place]:
                person["organisation_id"] = org_id


async def _insert(conn: AsyncConnection, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await conn.execute(insert(model), rows[start:start + CHUNK])


def _people(rng: random.Random, n: int, first_id: int, regions: Sequence[int],
            region_w: Sequence[float], by_region: dict[int, list[int]],
            now: datetime) -> list[dict[str, Any]]:
    out = []
    n_staff = min(10, max(1, n // 10_000))
    for i in range(n):
        uid = first_id + i
        region = _pick(rng, region_w, regions)
        district = rng.choice(by_region.get(region) or [None])
        created = now - timedelta(days=DAYS * rng.random())
        row: dict[str, Any] = {
            "id": uid, "tg_id": TG_BASE + uid, "chat_id": TG_BASE + uid,
            "channel": "telegram", "blocked_bot": rng.random() < 0.03, "settings": {},
            "locale": rng.choices(("kk", "ru", "en"), (60, 36, 4))[0],
            "created_at": created, "updated_at": created, "consent_at": created,
            "consent_version": "demo", "region_id": region, "district_id": district,
            "full_name": None, "org_type": None, "org_name": None, "faction": None,
            "position": None, "grade": None, "coordinator_level": None, "role": "student",
            "status": "active", "approved_by": None, "erased_at": None,
        }
        if i < n_staff:
            row.update(role="staff", region_id=None, district_id=None,
                       full_name=f"Орталық қызметкері {i + 1}")
        elif rng.random() < 0.03:
            level = "regional" if rng.random() < 0.15 else "district"
            row.update(role="coordinator", coordinator_level=level,
                       district_id=district if level == "district" else None,
                       status="pending" if rng.random() < 0.08 else "active",
                       org_type="school", org_name="Білім бөлімі",
                       full_name=f"Үйлестіруші {uid}")
        else:
            org_type = rng.choices(("school", "college", "university"), (82, 14, 4))[0]
            number = rng.randint(1, 25)
            org_name = {"school": f"№ {number} мектеп-гимназия",
                        "college": f"№ {number} колледж",
                        "university": f"№ {number} университет"}[org_type]
            row.update(org_type=org_type, org_name=org_name, faction=rng.choice(FACTIONS),
                       position=rng.choices(("president", "leader", "member"), (4, 16, 80))[0],
                       grade=str(rng.randint(5, 11) if org_type == "school"
                                 else rng.randint(1, 4)))
        if rng.random() < 0.01:  # erased: the row stays, anonymous
            row.update(status="erased", tg_id=None, chat_id=None, full_name=None,
                       org_name=None, erased_at=now - timedelta(days=rng.randrange(30)))
        out.append(row)
    return out


async def _challenges(conn: AsyncConnection, rng: random.Random, n: int,
                      now: datetime) -> list[tuple[int, datetime]]:
    """(id, starts_at) of demo challenges; bare ids when the feature's table is absent."""
    rows = []
    for k in range(n):
        starts = now - timedelta(days=rng.randrange(DAYS), hours=rng.randrange(24))
        kind, kk, ru, en = CHALLENGE_TITLES[k % len(CHALLENGE_TITLES)]
        suffix = f" {k // len(CHALLENGE_TITLES) + 1}" if k >= len(CHALLENGE_TITLES) else ""
        rows.append({"kind": kind, "status": "judged" if starts < now - timedelta(days=30)
                     else "open", "title_kk": kk + suffix, "title_ru": ru + suffix,
                     "title_en": en + suffix, "description_kk": kk, "description_ru": ru,
                     "description_en": en, "audience": {}, "content_kinds": ["photo", "text"],
                     "max_submissions": 1, "starts_at": starts,
                     "deadline_at": starts + timedelta(days=21), "created_at": starts,
                     "published_at": starts, "reminders_done": []})
    try:
        from db.models.challenges import Challenge

        async with conn.begin_nested():
            ids = (await conn.execute(insert(Challenge).returning(Challenge.id), rows)).scalars()
            return list(zip(ids, [r["starts_at"] for r in rows], strict=True))
    except Exception:  # challenges not installed here: log rows still get ref ids
        logger.info("demo: no challenges table, using bare ids")
        return [(k + 1, r["starts_at"]) for k, r in enumerate(rows)]


async def _webinars(conn: AsyncConnection, rng: random.Random, n: int,
                    now: datetime) -> list[tuple[int, datetime]]:
    rows = []
    for k in range(n):
        starts = (now - timedelta(days=rng.randrange(DAYS))).replace(
            hour=rng.choice((5, 6, 9, 10)), minute=0, second=0, microsecond=0)
        kk, ru, en = WEBINAR_TITLES[k % len(WEBINAR_TITLES)]
        rows.append({"title_kk": kk, "title_ru": ru, "title_en": en, "description_kk": kk,
                     "description_ru": ru, "description_en": en, "starts_at": starts,
                     "duration_min": 60, "join_url": "https://example.org/webinar",
                     "speakers": rng.sample(SPEAKERS, rng.randint(1, 2)), "audience": {},
                     "reminder_offsets": [1440, 60],
                     "status": "cancelled" if rng.random() < 0.05 else "published",
                     "sequence": 0, "created_at": starts - timedelta(days=10),
                     "updated_at": starts - timedelta(days=10)})
    try:
        from db.models.webinars import Webinar

        async with conn.begin_nested():
            ids = (await conn.execute(insert(Webinar).returning(Webinar.id), rows)).scalars()
            return list(zip(ids, [r["starts_at"] for r in rows], strict=True))
    except Exception:
        logger.info("demo: no webinars table, using bare ids")
        return [(k + 1, r["starts_at"]) for k, r in enumerate(rows)]


def _event_row(person: dict[str, Any], kind: str, at: datetime, ref_type: str | None = None,
               ref_id: int | None = None, extra: dict | None = None) -> dict[str, Any]:
    return {"user_id": person["id"], "kind": kind, "at": at, "role": person["role"],
            "region_id": person["region_id"], "district_id": person["district_id"],
            "org_type": person["org_type"], "ref_type": ref_type, "ref_id": ref_id,
            "extra": extra}


def _event_about(rng: random.Random, person: dict[str, Any], kind: str, at: datetime,
                 challenges: list[tuple[int, datetime]], webinars: list[tuple[int, datetime]],
                 serial: int) -> dict[str, Any]:
    """One logged action of `kind`, about a random challenge or webinar where it has one."""
    if kind.startswith(("challenge", "submission")) or kind == "winner":
        return _event_row(person, kind, at, "challenge", rng.choice(challenges)[0])
    if kind.startswith("webinar"):
        return _event_row(person, kind, at, "webinar", rng.choice(webinars)[0])
    if kind == "broadcast_sent":
        return _event_row(person, kind, at, "broadcast", serial)
    return _event_row(person, kind, at, extra={"field": "org_name"})


def _events(rng: random.Random, people: list[dict[str, Any]], n: int,
            challenges: list[tuple[int, datetime]], webinars: list[tuple[int, datetime]],
            now: datetime) -> list[dict[str, Any]]:
    out = [_event_row(p, "register", p["created_at"], extra={"role": p["role"]})
           for p in people]
    students = sorted((p for p in people if p["role"] == "student"),
                      key=lambda p: p["created_at"])
    joined = [p["created_at"] for p in students]
    leaders = [p for p in people if p["role"] in ("staff", "coordinator")] or people
    kinds = [k for k, _w in EVENT_MIX]
    cum = list(accumulate(w for _k, w in EVENT_MIX))
    year_ago = now - timedelta(days=DAYS)
    for _ in range(max(0, n - len(out))):
        kind = _pick(rng, cum, kinds)
        at = year_ago + (now - year_ago) * rng.random()
        # Someone registered by then; earlier members have had more time to take part.
        known = bisect(joined, at)
        if kind == "broadcast_sent" or not known:
            person = rng.choice(leaders)
        else:
            person = students[rng.randrange(known)]
        out.append(_event_about(rng, person, kind, at, challenges, webinars, len(out)))
    return out


async def _entities(conn: AsyncConnection, rng: random.Random,
                    events: list[dict[str, Any]]) -> None:
    """Participants, entries and webinar registrations matching the log (when installed)."""
    joins: dict[tuple[int, int], datetime] = {}
    entries: list[dict[str, Any]] = []
    regs: dict[tuple[int, int], dict[str, Any]] = {}
    for e in events:
        pair = (e["ref_id"], e["user_id"])
        if e["kind"] == "challenge_join":
            joins.setdefault(pair, e["at"])
        elif e["kind"] == "submission":
            status = rng.choices(("approved", "rejected", "pending"), (65, 20, 15))[0]
            entries.append({
                "challenge_id": e["ref_id"], "user_id": e["user_id"], "status": status,
                "content_kind": "photo", "text": None, "media": [], "region_id": e["region_id"],
                "district_id": e["district_id"], "submitted_at": e["at"],
                "reviewed_at": e["at"] + timedelta(days=2) if status != "pending" else None,
                "place": rng.choice(("1", "2", "3", "diploma"))
                if status == "approved" and rng.random() < 0.08 else None})
        elif e["kind"] == "webinar_register":
            regs.setdefault(pair, {"webinar_id": e["ref_id"], "user_id": e["user_id"],
                                   "status": "registered", "registered_at": e["at"],
                                   "attended_at": None})
        elif e["kind"] == "webinar_attend" and pair in regs:
            regs[pair]["attended_at"] = e["at"]
    try:
        from db.models.challenges import ChallengeParticipant, Submission
        from db.models.webinars import WebinarRegistration

        async with conn.begin_nested():
            await _insert(conn, ChallengeParticipant, [
                {"challenge_id": c, "user_id": u, "joined_at": at}
                for (c, u), at in joins.items()])
            await _insert(conn, Submission, entries)
            await _insert(conn, WebinarRegistration, list(regs.values()))
    except Exception:
        logger.info("demo: challenge/webinar tables unavailable", exc_info=True)


async def _deliveries(conn: AsyncConnection, rng: random.Random, events: list[dict[str, Any]],
                      people: list[dict[str, Any]], limit: int) -> int:
    broadcasts = [e for e in events if e["kind"] == "broadcast_sent"]
    if not broadcasts or not people:
        return 0
    payload_id = (await conn.execute(insert(OutboxPayload).returning(OutboxPayload.id),
                                     [{"body": {"kind": "text", "text": "demo"},
                                       "created_at": broadcasts[0]["at"]}])).scalar_one()
    per = max(1, min(200, limit // len(broadcasts)))
    rows = []
    for b in broadcasts:
        for person in rng.sample(people, min(per, len(people))):
            status = rng.choices(("sent", "blocked", "failed"), (95, 4, 1))[0]
            rows.append({"dedup_key": f"broadcast:{b['ref_id']}::{person['id']}",
                         "source_type": "broadcast", "source_id": b["ref_id"],
                         "user_id": person["id"], "chat_id": person["chat_id"] or 0,
                         "payload_id": payload_id, "priority": 5, "status": status,
                         "attempts": 1, "next_attempt_at": b["at"], "claimed_by": None,
                         "sent_message_id": None, "error": None, "created_at": b["at"],
                         "sent_at": b["at"] + timedelta(seconds=rng.randrange(1, 900))})
    await _insert(conn, Delivery, rows)
    return len(rows)
