"""Users created straight in the database, for tests that do not exercise registration.

    student = await make_student(h, 101)
    coordinator = await make_coordinator(h, 201, level="regional")
    staff = await make_staff(h)            # tg id 900, in STAFF_IDS of the `h` fixture

Each helper returns the stored `User` row (detached; read its columns freely) and drops the
user from the app's cache so the next update sees the new row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from db.models import District, Region, User
from tests.harness import BotHarness

STAFF_TG_ID = 900


async def place_ids(h: BotHarness, region_code: str = "abai",
                    district_index: int | None = 0) -> tuple[int, int | None]:
    """(region id, district id) by region code and the district's position in sort order."""
    async with h.app.sessionmaker() as s:
        region = await s.scalar(select(Region).where(Region.code == region_code))
        if region is None:
            raise LookupError(f"no region with code {region_code!r}")
        if district_index is None:
            return region.id, None
        ids = (await s.scalars(select(District.id).where(District.region_id == region.id)
                               .order_by(District.sort, District.id))).all()
        return region.id, ids[district_index]


async def _store(h: BotHarness, tg_id: int, **fields: Any) -> User:
    async with h.app.sessionmaker() as s:
        user = User(tg_id=tg_id, chat_id=tg_id, consent_at=h.app.now(),
                    consent_version=h.app.settings.consent_version, **fields)
        s.add(user)
        await s.commit()
    h.app.users.forget(tg_id)
    return user


async def make_student(
    h: BotHarness, tg_id: int, *, locale: str = "en", region_code: str = "abai",
    district_index: int = 0, org_type: str = "school", org_name: str = "School No. 1",
    faction: str = "happiness", position: str = "member", grade: str = "9",
) -> User:
    region_id, district_id = await place_ids(h, region_code, district_index)
    return await _store(h, tg_id, role="student", status="active", locale=locale,
                        region_id=region_id, district_id=district_id, org_type=org_type,
                        org_name=org_name, faction=faction, position=position, grade=grade)


async def make_coordinator(
    h: BotHarness, tg_id: int, *, level: str = "district", region_code: str = "abai",
    district_index: int = 0, status: str = "active", locale: str = "en",
    org_type: str = "school",
) -> User:
    """A district coordinator gets a district; a regional one has only the region."""
    region_id, district_id = await place_ids(
        h, region_code, district_index if level == "district" else None)
    return await _store(h, tg_id, role="coordinator", status=status, locale=locale,
                        coordinator_level=level, region_id=region_id, district_id=district_id,
                        org_type=org_type, org_name="Department of Education")


async def make_staff(h: BotHarness, tg_id: int = STAFF_TG_ID, locale: str = "en") -> User:
    return await _store(h, tg_id, role="staff", status="active", locale=locale,
                        full_name="Centre Staff")


async def score_offered(session: Any, submission_id: int, juror_id: int, criterion: int,
                        value: int, now: Any) -> None:
    """A juror scores an entry the bot offered them (jury.score accepts a new entry only
    when it is the one offered): for tests that fill a ranking straight in the database."""
    from sqlalchemy import update

    from bot.services import jury
    from db.models.challenges import JuryMember, Submission

    challenge_id = await session.scalar(select(Submission.challenge_id).where(
        Submission.id == submission_id))
    await session.execute(update(JuryMember).where(
        JuryMember.challenge_id == challenge_id, JuryMember.user_id == juror_id)
        .values(offered_id=submission_id))
    await jury.score(session, submission_id, juror_id, criterion, value, now)
