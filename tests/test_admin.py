"""Staff and coordinator tools: approval, invites, join links and QR, promotion, CSV import."""

from __future__ import annotations

from sqlalchemy import select

from bot.callbacks import ApproveCD, PromoteCD
from db.models import ActivityLog, District, Invite, User
from tests.factories import make_coordinator, make_staff, make_student

STAFF = 900


async def request_coordinator(h, tg_id: int = 301) -> None:
    u = h.user(tg_id, "Dana")
    await u.send("/start")
    await u.click("English")
    await u.click("Coordinator")
    await u.click("District (city) level")
    await u.click("School")
    await u.click("Abai Region")
    await u.click("Semey")
    await u.send("Education department of Semey")
    await u.click("I agree")
    assert "request to become a coordinator was sent" in u.last_text()


async def stored(h, tg_id: int) -> User | None:
    async with h.app.sessionmaker() as s:
        return await s.scalar(select(User).where(User.tg_id == tg_id))


async def test_staff_approves_a_coordinator_end_to_end(h):
    await make_staff(h)
    await request_coordinator(h)
    await h.drain()
    staff, coordinator = h.user(STAFF), h.user(301)
    assert "New coordinator request" in staff.last_text()
    assert "Education department of Semey" in staff.last_text()

    await staff.click("Approve")
    edit = h.api.of("editMessageText", STAFF)[-1]
    assert "Approved by Centre Staff" in edit.params["text"]
    assert "reply_markup" not in edit.params or not edit.params["reply_markup"]
    assert (await stored(h, 301)).status == "active"

    await h.drain()
    assert "was approved" in coordinator.last_text()
    await coordinator.send("/joinlink")  # now a coordinator's command works
    assert h.api.last(301).method == "sendPhoto"

    # Pressing again (or a second staff member) changes nothing.
    before = len(h.api.of("answerCallbackQuery"))
    await staff.press(ApproveCD(user_id=(await stored(h, 301)).id, ok=False).pack())
    answer = h.api.of("answerCallbackQuery")[before:][-1]
    assert "already decided" in answer.params["text"]
    assert (await stored(h, 301)).status == "active"
    await h.drain()
    assert "not approved" not in " ".join(coordinator.texts())


async def test_staff_rejects_a_coordinator(h):
    await make_staff(h)
    await request_coordinator(h)
    await h.drain()
    await h.user(STAFF).click("Reject")
    assert "Rejected by Centre Staff" in h.api.of("editMessageText", STAFF)[-1].params["text"]
    await h.drain()
    assert "was not approved" in h.user(301).last_text()
    assert (await stored(h, 301)).status == "rejected"
    await h.user(301).send("/joinlink")
    assert "not available" in h.user(301).last_text()
    # not a dead end: the way to take part as a member is in the message, and it works
    assert any("/deleteme and register again with /start" in t for t in h.user(301).texts())
    await h.user(301).send("/deleteme")
    await h.user(301).click("Yes, erase")
    await h.user(301).send("/start")
    assert "Choose your language" in h.user(301).last_text()


async def test_pending_lists_requests_with_buttons(h):
    await make_staff(h)
    await h.user(STAFF).send("/pending")
    assert "No coordinators are waiting" in h.user(STAFF).last_text()
    await make_coordinator(h, 302, status="pending")
    await h.user(STAFF).send("/pending")
    assert h.user(STAFF).buttons() == ["✅ Approve", "❌ Reject"]
    await h.user(STAFF).click("Approve")
    assert (await stored(h, 302)).status == "active"


async def test_only_staff_may_decide(h):
    await make_staff(h)
    pending = await make_coordinator(h, 303, status="pending")
    await make_coordinator(h, 304)
    await h.user(304).press(ApproveCD(user_id=pending.id, ok=True).pack())
    assert (await stored(h, 303)).status == "pending"


def invite_link(h) -> str:
    text = h.user(STAFF).last_text()
    assert "https://t.me/mektep_parliament_bot?start=inv_" in text, text
    return "inv_" + text.split("?start=inv_", 1)[1].split()[0]


async def register_by_invite(h, tg_id: int, payload: str) -> None:
    u = h.user(tg_id)
    await u.send(f"/start {payload}")
    if "invitation link" in u.last_text():
        return
    await u.click("English")
    await u.click("School")  # an invite fixes the scope, not the organisation type
    await u.send("Regional department")
    await u.click("I agree")


async def test_invite_link_registers_coordinator_with_scope(h):
    await make_staff(h)
    await h.user(STAFF).send("/invite district abai Semey days=3 uses=2")
    payload = invite_link(h)
    assert "Semey" in h.user(STAFF).last_text()
    await register_by_invite(h, 401, payload)
    user = await stored(h, 401)
    async with h.app.sessionmaker() as s:
        district = await s.get(District, user.district_id)
    assert (user.role, user.status, user.coordinator_level) == ("coordinator", "active",
                                                                "district")
    assert "Semey" in district.name_en
    await register_by_invite(h, 402, payload)
    assert (await stored(h, 402)).status == "active"
    # used up
    late = h.user(403, language_code="en")
    await late.send(f"/start {payload}")
    assert "already been used" in late.last_text()
    assert await stored(h, 403) is None


async def test_invite_link_expires(h, clock):
    await make_staff(h)
    await h.user(STAFF).send("/invite regional abai 2 5")
    payload = invite_link(h)
    clock.advance(days=2, seconds=1)
    late = h.user(404, language_code="en")
    await late.send(f"/start {payload}")
    assert "expired" in late.last_text()
    clock.advance(days=-1)
    await register_by_invite(h, 404, payload)
    user = await stored(h, 404)
    assert (user.role, user.coordinator_level, user.district_id) == ("coordinator",
                                                                     "regional", None)


async def test_invite_wizard_with_buttons_and_wrong_input(h):
    await make_staff(h)
    staff = h.user(STAFF)
    await staff.send("/invite")
    await staff.click("Regional level")
    await staff.click("Abai Region")
    await staff.send("a lot")
    assert "two numbers" in staff.texts()[-2]
    await staff.send("0 1")
    assert "from 1 to 365" in staff.texts()[-2]
    await staff.click("30 days · 10 uses")
    invite_link(h)
    async with h.app.sessionmaker() as s:
        invite = await s.scalar(select(Invite).where(Invite.kind == "coordinator"))
    assert (invite.max_uses, invite.level) == (10, "regional")
    assert (invite.expires_at - h.app.now()).days == 30


async def test_invite_arguments_errors(h):
    await make_staff(h)
    await h.user(STAFF).send("/invite galaxy abai")
    assert "Usage" in h.user(STAFF).last_text()
    await h.user(STAFF).send("/invite regional atlantis")
    assert "Unknown region code" in h.user(STAFF).last_text()
    await h.user(STAFF).send("/invite district abai")
    assert "by its number" in h.user(STAFF).last_text()


async def test_join_link_prefills_place_and_qr_is_png(h):
    coordinator = await make_coordinator(h, 501)
    await h.user(501).send("/joinlink")
    call = h.api.last(501)
    assert call.method == "sendPhoto"
    assert call.files["photo"].startswith(b"\x89PNG")
    link = call.params["caption"].split("?start=", 1)[1].split()[0]
    assert link.startswith("j_")
    await h.user(501).send("/joinlink")  # the same permanent link
    assert link in h.api.last(501).params["caption"]

    s = h.user(502)
    await s.send(f"/start {link}")
    await s.click("English")
    # no role, region or district questions; the organisation type is asked (a college
    # student may come through a school coordinator's link)
    assert "What kind of organisation?" in s.last_text()
    await s.click("College")
    assert "name of your school" in s.last_text()
    await s.send("Semey College of Arts")
    await s.click("Care")
    await s.click("Faction member")
    assert "year of study" in s.last_text()
    await s.send("2")
    await s.click("16–17")  # age band: no guardian needed
    await s.click("I agree")
    student = await stored(h, 502)
    assert (student.region_id, student.district_id, student.org_type) == (
        coordinator.region_id, coordinator.district_id, "college")


async def test_promote_makes_staff(h):
    await make_staff(h)
    await make_student(h, 601)
    staff = h.user(STAFF)
    await staff.send("/promote 601")  # asked first: there is no way back
    assert "Make this person centre staff?" in staff.last_text()
    assert "Role: Parliament member" in staff.last_text()
    await staff.click("Cancel")
    assert staff.last_text() == "Cancelled. Nothing was saved."
    assert (await stored(h, 601)).role == "student"
    await make_student(h, 602)
    await staff.send("/promote 601")
    await staff.send("/promote 602")  # a second prompt: each keeps its own person
    await staff.press(PromoteCD(tg_id=601, yes=True).pack())  # "Yes" under the first one
    assert "is now centre staff" in h.user(STAFF).last_text()
    assert (await stored(h, 602)).role == "student"
    assert (await stored(h, 601)).role == "staff"
    await h.drain()
    assert "You are now centre staff" in h.user(601).last_text()
    await h.user(601).send("/pending")
    assert "not available" not in h.user(601).last_text()
    await h.user(STAFF).send("/promote 12345")
    assert "No registered user" in h.user(STAFF).last_text()
    await h.user(STAFF).send("/promote")
    assert h.user(STAFF).last_text().startswith("Whom should I make centre staff?")
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(ActivityLog).where(ActivityLog.kind == "promote_staff"))


async def test_student_cannot_promote_or_invite(h):
    await make_student(h, 602)
    for command in ("/promote 602", "/invite", "/pending", "/import_districts"):
        await h.user(602).send(command)
        assert "not available" in h.user(602).last_text()
    assert (await stored(h, 602)).role == "student"


GOOD_CSV = (
    "region_code,unit_type,unit_kk,unit_ru,unit_en\n"
    "abai,district,Жаңа аудан,Новый район,New District\n"
    "abai,city,Семей қаласы,город Семей,Semey (city)\n"
).encode()


async def test_import_districts_good_file(h):
    await make_staff(h)
    h.api.files["csv-good"] = GOOD_CSV
    staff = h.user(STAFF)
    await staff.send("/import_districts")
    await staff.send("here it is")
    assert "as a document" in staff.last_text()
    await staff.send_content(document={"file_id": "csv-good", "file_unique_id": "u1",
                                       "file_name": "fix.csv", "file_size": len(GOOD_CSV)})
    assert "1 added, 1 updated" in staff.last_text()
    abai = h.app.places.find_region("abai")
    names = [p.name("en") for p in h.app.places.districts[abai.id]]
    assert "New District" in names and "Semey (city)" in names


async def test_import_districts_bad_file(h):
    await make_staff(h)
    h.api.files["csv-bad"] = b"region_code,unit_type,unit_kk,unit_ru,unit_en\nmars,city,a,b,c\n"
    h.api.files["csv-cols"] = b"name;type\nx;y\n"
    staff = h.user(STAFF)
    await staff.send("/import_districts")
    await staff.send_content(document={"file_id": "csv-bad", "file_unique_id": "u2",
                                       "file_name": "bad.csv"})
    assert "Line 2: unknown region code" in staff.last_text()
    await staff.send_content(document={"file_id": "csv-cols", "file_unique_id": "u3",
                                       "file_name": "bad.csv"})
    assert "must have the columns" in staff.last_text()
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(District).where(District.name_en == "c")) is None


async def test_join_link_of_an_erased_coordinator_stops_working(h):
    from bot.services import registration as reg
    from bot.services.personal_data import erase_user

    coordinator = await make_coordinator(h, 310, level="district")
    async with h.app.sessionmaker() as s, s.begin():
        owner = await s.get(User, coordinator.id)
        code = (await reg.join_link_for(s, owner)).code
        await erase_user(s, h.app.users, owner)
        assert await s.scalar(select(Invite).where(Invite.code == code)) is not None
    student = h.user(311, language_code="en")
    await student.send(f"/start j_{code}")
    assert student.last_text() == "This invitation link is not valid."


async def test_a_regional_join_link_says_the_district_is_still_chosen(h):
    await make_coordinator(h, 503, level="regional")
    await h.user(503).send("/joinlink")
    caption = h.api.last(503).params["caption"]
    assert "skip choosing the region and then choose their district" in caption
