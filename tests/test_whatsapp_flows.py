"""Every flow of issue 16 on WhatsApp, driven as a WhatsApp person would: typing commands,
tapping reply buttons and list rows, typing numbers of numbered menus; what they see is what
the fake Cloud API recorded, and what is stored is read back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import STAFF_ID
from tests.factories import make_coordinator, make_staff, make_student
from tests.harness import make_harness
from tests.wa_harness import WA_SETTINGS, WaHarness, attach_whatsapp

LANGS = pytest.mark.parametrize("lang", ["kk", "ru"])


@pytest.fixture
async def wh(db_url, clock) -> AsyncIterator[WaHarness]:
    h = await make_harness(db_url, clock, staff_ids=frozenset({STAFF_ID}), flood_limit=1000,
                           **WA_SETTINGS)
    wa = await attach_whatsapp(h)
    yield wa
    await wa.close()
    await h.close()


async def wa_person(wh: WaHarness, address: str, lang: str, maker=make_student, **kw):
    """A registered WhatsApp person (student by default) and their FakeWaUser."""
    contact = await wh.wa.contacts.arrive(address, None)
    user = await maker(wh.h, contact.ext_id, locale=lang, **kw)
    from sqlalchemy import update

    from db.models import User
    async with wh.h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.id == user.id).values(channel="whatsapp"))
        await s.commit()
    wh.h.app.users.forget(contact.ext_id)
    return user, wh.user(address)


def show(u) -> None:
    for s in u.sent():
        print("---", s.type, s.titles, s.ids, (s.body or s.caption or "")[:400], s.raw.get("document", {}).get("filename"))


async def test_probe(wh):
    _, u = await wa_person(wh, "KZ.s1", "ru")
    await u.send("/help")
    await u.send("hello")
    await u.send("/profile")
    await u.send("/my")
    await u.send("/challenges")
    await u.send("/webinars")
    _, c = await wa_person(wh, "KZ.c1", "kk", maker=make_coordinator)
    await c.send("/help")
    await c.send("/review")
    await c.send("/stats")
    show(u)
    print("=======")
    show(c)
    assert 0
