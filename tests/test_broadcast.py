"""/broadcast end to end: scope, preview, progress, report, acknowledgements, cascade,
schedule across a restart, cancel, the daily limit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.callbacks import BroadcastAckCD, BroadcastCD, BroadcastFwdCD
from bot.delivery import DeliveryWorker
from bot.notices.broadcasts import broadcasts_tick
from bot.pacing import VirtualTimer
from bot.services import broadcasts as svc
from db.models import ActivityLog, Broadcast, BroadcastAck, Delivery
from tests.factories import make_coordinator, make_staff, make_student, place_ids
from tests.harness import make_harness


async def compose(u, text: str = "Meeting on Friday at 15:00", audience: str = "Students",
                  ack: str = "No confirmation") -> None:
    await u.send("/broadcast")
    await u.send(text)
    await u.click(audience)
    await u.click(ack)


async def district_setup(h):
    coord = await make_coordinator(h, 201, level="district", district_index=0)
    mine = [await make_student(h, 101 + i, district_index=0, org_name=f"School {i % 2}")
            for i in range(3)]
    other = await make_student(h, 150, district_index=1)
    return coord, mine, other


async def test_district_coordinator_reaches_only_their_district(h):
    await district_setup(h)
    u = h.user(201)
    await compose(u)
    texts = u.texts()
    assert "Preview" in texts[-3]
    assert texts[-2] == "Meeting on Friday at 15:00"  # exactly as recipients will see it
    assert "Recipients: 3" in texts[-1]
    assert u.buttons() == ["🚀 Send now", "🕒 Schedule", "✖ Cancel"]
    await u.click("Send now")
    assert "Sent: 0 of 3" in u.last_text()
    assert "✖ Stop sending" in u.buttons()
    await u.press(BroadcastCD(action="quit").pack())  # the preview's Cancel, after sending
    answer = h.api.of("answerCallbackQuery", None)[-1].params["text"]
    assert answer == "This button is no longer active."
    assert await h.drain() == 3
    for tg in (101, 102, 103):
        assert h.api.texts(tg) == ["Meeting on Friday at 15:00"]
    assert h.api.texts(150) == []
    await broadcasts_tick(h.app)
    report = h.api.texts(201)[-1]
    assert "finished" in report and "Recipients: 3" in report and "Delivered: 3" in report
    async with h.app.sessionmaker() as s:
        bc = await s.scalar(select(Broadcast))
        assert (bc.status, bc.recipients) == ("done", 3)
        kinds = set((await s.scalars(select(ActivityLog.kind))).all())
        assert {"broadcast_created", "broadcast_sent"} <= kinds


async def test_forged_area_and_audience_callbacks_are_refused(h):
    await district_setup(h)
    _, other_district = await place_ids(h, "abai", 1)
    u = h.user(201)
    await u.send("/broadcast")
    await u.send("Hello")
    calls = await u.press(BroadcastCD(action="place", value=f"d{other_district}").pack())
    assert "own area" in calls[-1].params["text"]
    calls = await u.press(BroadcastCD(action="aud", value="webinar.5").pack())
    assert "not available" in calls[-1].params["text"]
    await u.click("Everyone")
    await u.click("No confirmation")
    assert "Recipients: 3" in u.last_text()  # still only their district


async def test_regional_coordinator_narrows_to_a_district_inside_the_region(h):
    await make_coordinator(h, 202, level="regional")
    await make_student(h, 101, district_index=0)
    await make_student(h, 102, district_index=1)
    await make_student(h, 103, region_code="almaty_city")
    _, first = await place_ids(h, "abai", 0)
    other_region, _ = await place_ids(h, "almaty_city", None)
    u = h.user(202)
    await u.send("/broadcast")
    await u.send("Hello region")
    assert "📍 Area: Abai Region ▸" in u.buttons()  # their region, not the whole country
    await u.click("📍 Area: Abai Region ▸")
    assert u.buttons()[0] == "Abai Region"  # the region itself, first among its districts
    calls = await u.press(BroadcastCD(action="place", value=f"r{other_region}").pack())
    assert "own area" in calls[-1].params["text"]
    await u.click("Everyone")
    await u.click("No confirmation")
    assert "Recipients: 2" in u.last_text()
    await u.send("/broadcast")
    await u.send("Hello district")
    await u.press(BroadcastCD(action="place", value=f"d{first}").pack())
    await u.click("Students")
    await u.click("No confirmation")
    assert "Recipients: 1" in u.last_text()


async def test_album_is_stored_not_referenced_and_confirmations_are_reported(h):
    await district_setup(h)
    u = h.user(201)
    await u.send("/broadcast")
    await u.send_content(media_group_id="g1", caption="Our photos",
                         photo=[{"file_id": "P1", "file_unique_id": "u1", "width": 1,
                                 "height": 1}])
    await u.send_content(media_group_id="g1",
                         photo=[{"file_id": "P2", "file_unique_id": "u2", "width": 1,
                                 "height": 1}])
    await u.click("Students")
    await u.click("✅ Received")
    await u.click("Send now")
    assert await h.drain() == 6  # the album and, after it, the button
    group = h.api.of("sendMediaGroup", 101)[-1]
    assert [m["media"] for m in group.params["media"]] == ["P1", "P2"]
    assert h.api.of("copyMessage") == [] and h.api.of("forwardMessage") == []
    student = h.user(101)
    assert student.buttons() == ["✅ Received"]
    await student.click("✅ Received")
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(BroadcastAck)) == 1
        bc_id = await s.scalar(select(Broadcast.id))
    # someone who did not receive it cannot confirm it
    calls = await h.user(150).press(BroadcastAckCD(id=bc_id).pack())
    assert "Not found" in calls[-1].params["text"]

    await broadcasts_tick(h.app)
    assert "Confirmed: 1 of 3" in u.last_text()
    await u.click("📊 Confirmations")
    report = u.last_text()
    assert "1 of 3" in report and "School 0: 1/2" in report and "School 1: 0/1" in report
    assert "Not yet confirmed" in report
    await u.click("Remind the 2")
    assert "Reminder queued for 2 people" in u.last_text()
    assert await h.drain() == 2
    assert "Reminder" in h.api.texts(102)[-1] and "Reminder" in h.api.texts(103)[-1]
    assert "Reminder" not in h.api.texts(101)[-1]
    await u.click("📊 Confirmations")  # a second tap soon after messages nobody again
    await u.click("Remind the 2")
    answer = h.api.of("answerCallbackQuery", None)[-1].params["text"]
    assert "went out less than 12 hours ago" in answer
    assert await h.drain() == 0


async def test_cascade_lets_a_coordinator_forward_to_their_people(h):
    await make_staff(h)
    coord, _mine, _other = await district_setup(h)
    staff = h.user(900)
    await compose(staff, "National announcement", "Coordinators")
    assert "Recipients: 1" in staff.last_text()
    await staff.click("Send now")
    await h.drain()
    c = h.user(201)
    assert c.last_text() == "National announcement"
    assert c.buttons() == ["↪️ Forward to my people"]
    await c.click("Forward to my people")
    assert "who should receive it" in c.last_text()
    await c.click("Students")
    await c.click("No confirmation")
    await c.click("Send now")
    assert await h.drain() == 3
    assert h.api.texts(101)[-1] == "National announcement"
    async with h.app.sessionmaker() as s:
        child = await s.scalar(select(Broadcast).where(Broadcast.author_id == coord.id))
        assert child.parent_id is not None
    # a student cannot forward; an unrelated broadcast id is refused
    calls = await h.user(101).press(BroadcastFwdCD(id=child.parent_id).pack())
    assert "not available" in calls[-1].params["text"]


async def test_daily_limit_for_coordinators_not_for_staff(h):
    await make_staff(h)
    await district_setup(h)
    h.app.settings.broadcasts_per_day = 1
    u = h.user(201)
    await compose(u)
    await u.click("Send now")
    await u.send("/broadcast")
    assert "today's limit of 1" in u.last_text()
    staff = h.user(900)
    for _ in range(2):
        await compose(staff, audience="Everyone")
        await staff.click("Send now")
        assert "Sent: 0 of" in staff.last_text()


async def test_schedule_survives_a_restart_and_starts_on_time(h, clock, tmp_path):
    await district_setup(h)
    u = h.user(201)
    await compose(u, "Scheduled news")
    await u.click("Schedule")
    soon = clock.value.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    assert u.last_text() == ("When should it go out? Type the date and time in Almaty time, "
                             "for example: " + soon.astimezone(h.app.settings.tz)
                             .strftime("%d.%m.%Y %H:%M"))  # an example still ahead
    await u.send("yesterday")
    assert "25.12.2026 15:00" in u.last_text()
    start = clock.value + timedelta(hours=2)
    local = start.astimezone(h.app.settings.tz).strftime("%d.%m.%Y %H:%M")
    await u.send(local)
    assert "Scheduled" in u.last_text() and local in u.last_text()
    await broadcasts_tick(h.app)
    assert await h.drain() == 0  # not yet

    # restart: a new app on the same database
    h2 = await make_harness(str(tmp_path / "bot.db"), clock,
                            staff_ids=frozenset({900}))
    try:
        clock.advance(hours=1, minutes=59)
        await broadcasts_tick(h2.app)
        assert await h2.drain() == 0
        clock.advance(minutes=1)
        await broadcasts_tick(h2.app)
        assert await h2.drain() == 3
        assert h2.api.texts(101) == ["Scheduled news"]
        await broadcasts_tick(h2.app)
        await broadcasts_tick(h2.app)
        reports = [c for c in h2.api.of("sendMessage", 201) if "finished" in c.text]
        assert len(reports) == 1  # a second tick does not report again
    finally:
        await h2.close()


async def test_stop_mid_way_cancels_the_rest_and_reports(h):
    coord = await make_coordinator(h, 201, level="district")
    for i in range(8):
        await make_student(h, 101 + i)
    u = h.user(201)
    await compose(u)
    await u.click("Send now")
    sent = {"n": 0}

    def listener(call):
        if call.method == "sendMessage" and call.chat_id != 201:
            sent["n"] += 1
            if sent["n"] == 3:
                worker.stop()

    worker = DeliveryWorker(h.app.channels, h.app.sessionmaker, timer=VirtualTimer())
    h.api.listeners.append(listener)
    await worker.drain()
    await broadcasts_tick(h.app)
    progress = h.api.of("editMessageText", 201)[-1].params["text"]
    assert "Sent: 3 of 8" in progress and "Remaining: 5" in progress
    assert "Time left: about 1 s" in progress
    await u.click("Stop sending")
    report = h.api.of("editMessageText", 201)[-1].params["text"]
    assert "cancelled" in report and "Delivered: 3" in report
    assert "Not sent (cancelled): 5" in report
    assert await h.drain() == 0
    async with h.app.sessionmaker() as s:
        statuses = dict((await s.execute(select(Delivery.status, func.count())
                                         .group_by(Delivery.status))).all())
        assert statuses == {"sent": 3, "cancelled": 5}
    assert coord.id


async def test_broadcasts_lists_past_announcements(h):
    await district_setup(h)
    u = h.user(201)
    await compose(u, ack="✅ Done")
    await u.click("Send now")
    await h.drain()
    await u.send("/broadcasts")
    text = u.last_text()
    assert "#1" in text and "delivered 3 of 3" in text and "confirmed 0" in text
    assert "📊 #1" in u.buttons()


async def test_audience_providers_plug_in_and_stay_in_scope(h):
    await district_setup(h)

    async def members(session, scope, key):
        return select(svc.User.id).where(svc.User.tg_id.in_([101, 150]))

    async def options(session, scope):
        return [("7", "Webinar 7")]

    svc.register_audience("webinar", "Webinar registrants", members, options)
    try:
        u = h.user(201)
        await u.send("/broadcast")
        await u.send("For registrants")
        await u.click("Webinar registrants")
        await u.click("Webinar 7")
        await u.click("No confirmation")
        assert "Recipients: 1" in u.last_text()  # 150 is outside the district
    finally:
        svc.PROVIDERS.pop("webinar", None)


async def test_unreachable_and_failed_recipients_are_counted_in_the_report(h):
    await district_setup(h)
    from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
    from aiogram.methods import SendMessage

    method = SendMessage(chat_id=1, text="x")

    def fault(call):
        if call.chat_id == 102:
            raise TelegramForbiddenError(method=method, message="Forbidden: bot was blocked")
        if call.chat_id == 103:
            raise TelegramBadRequest(method=method, message="Bad Request: chat not found")

    u = h.user(201)
    await compose(u)
    await u.click("Send now")
    h.api.fault = fault
    await h.drain()
    h.api.fault = None
    await broadcasts_tick(h.app)
    report = u.last_text()
    assert "Delivered: 1" in report and "Blocked the bot: 1" in report and "Failed: 1" in report


async def test_album_cascade_without_confirmation_gives_buttons_to_coordinators_only(h):
    await make_staff(h)
    await district_setup(h)
    staff = h.user(900)
    await staff.send("/broadcast")
    await staff.send_content(media_group_id="g2", photo=[
        {"file_id": "P9", "file_unique_id": "u9", "width": 1, "height": 1}])
    await staff.click("Everyone")
    await staff.click("No confirmation")
    await staff.click("Send now")
    await h.drain()
    assert h.api.of("sendMediaGroup", 101) and h.api.of("sendMessage", 101) == []
    assert h.user(201).buttons() == ["↪️ Forward to my people"]
