"""The shared user factories create users the bot recognises with the right role."""

from __future__ import annotations

from sqlalchemy import select

from db.models import District, User
from tests.factories import make_coordinator, make_staff, make_student


async def test_factories_store_users_with_their_roles(h):
    student = await make_student(h, 101, district_index=1)
    coordinator = await make_coordinator(h, 201, level="regional", status="pending")
    staff = await make_staff(h)
    async with h.app.sessionmaker() as s:
        rows = {u.tg_id: u for u in (await s.scalars(select(User))).all()}
        district = await s.get(District, student.district_id)
    assert set(rows) == {101, 201, 900}
    assert district.region_id == student.region_id
    assert (rows[201].role, rows[201].status, rows[201].district_id) == (
        "coordinator", "pending", None)
    assert rows[900].role == "staff" and staff.chat_id == 900
    assert coordinator.consent_version == h.app.settings.consent_version
    assert all(u.consent_at is not None for u in rows.values())

    await h.user(101).send("/profile")
    assert "not available" not in h.user(101).last_text()
    await h.user(900).send("/pending")
    assert "not available" not in h.user(900).last_text()
