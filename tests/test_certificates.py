"""Certificates: eligibility per template, bulk issue through the bot, re-issue, registry,
/verify and /start v_<number>, revoking, templates, export."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image, ImageChops
from pypdf import PdfReader
from sqlalchemy import func, select, update

from bot.callbacks import CertCD
from bot.scheduler import certificates_tick
from bot.services import certificates as certs
from bot.services.errors import DomainError
from db.models import (
    Certificate,
    Challenge,
    ChallengeOption,
    ChallengeParticipant,
    Delivery,
    OutboxPayload,
    Submission,
    User,
    Webinar,
    WebinarRegistration,
)
from tests.factories import make_staff, make_student


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def student(h, tg_id: int, name: str | None, locale: str = "kk",
                  org: str = "№ 7 мектеп-гимназиясы") -> User:
    user = await make_student(h, tg_id, locale=locale, org_name=org)
    async with h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.id == user.id).values(full_name=name))
        await s.commit()
    h.app.users.forget(tg_id)
    return user


async def contest(h, kind: str = "contest", status: str = "judged") -> tuple[int, int, int]:
    """A contest with one nomination and one age category: (id, nomination, category)."""
    now = h.app.now()
    async with h.app.sessionmaker() as s:
        ch = Challenge(kind=kind, status=status, title_kk="Біздің Мектеп Парламенті",
                       title_ru="Наш Школьный парламент", title_en="Our School Parliament",
                       description_kk="…", starts_at=now - timedelta(days=20),
                       deadline_at=now - timedelta(days=5), audience={}, content_kinds=[])
        s.add(ch)
        await s.flush()
        nom = ChallengeOption(challenge_id=ch.id, kind="nomination", name_kk="Үздік бейне",
                              name_ru="Лучшее видео", name_en="Best video")
        cat = ChallengeOption(challenge_id=ch.id, kind="category", name_kk="14–17 жас",
                              name_ru="14–17 лет", name_en="14–17 years")
        s.add_all([nom, cat])
        await s.commit()
        return ch.id, nom.id, cat.id


async def entry(h, challenge_id: int, user: User, status: str = "approved",
                place: str | None = None, nomination: int | None = None,
                category: int | None = None) -> None:
    async with h.app.sessionmaker() as s:
        if not await s.scalar(select(ChallengeParticipant.id).where(
                ChallengeParticipant.challenge_id == challenge_id,
                ChallengeParticipant.user_id == user.id)):
            s.add(ChallengeParticipant(challenge_id=challenge_id, user_id=user.id))
            await s.flush()
        s.add(Submission(challenge_id=challenge_id, user_id=user.id, status=status, place=place,
                         content_kind="text", text="…", nomination_id=nomination,
                         category_id=category, chat_id=user.chat_id))
        await s.commit()


async def webinar(h, days_ago: int = 1, title: str = "Өзін-өзі басқару") -> int:
    async with h.app.sessionmaker() as s:
        w = Webinar(title_kk=title, title_ru="Самоуправление", title_en="Self-government",
                    description_kk="…", description_ru="…",
                    starts_at=h.app.now() - timedelta(days=days_ago), duration_min=60,
                    join_url="https://example.org/w")
        s.add(w)
        await s.commit()
        return w.id


async def attend(h, webinar_id: int, user: User, attended: bool = True,
                 status: str = "registered") -> None:
    async with h.app.sessionmaker() as s:
        s.add(WebinarRegistration(webinar_id=webinar_id, user_id=user.id, status=status,
                                  attended_at=h.app.now() if attended else None))
        await s.commit()


async def signed(h, *templates: str) -> None:
    """Signatories for these templates (all by default): a bulk issue asks for them first."""
    async with h.app.sessionmaker() as s:
        for template in templates or certs.TEMPLATES:
            await certs.set_signatories(s, template, "Директор | А. Сейітов", None)
        await s.commit()


def sent_documents(h, chat_id: int) -> list:
    return [c for c in h.api.of("sendDocument", chat_id)]


# --- eligibility ---------------------------------------------------------------------

async def test_winners_and_participants_of_a_contest(h):
    cid, nom, cat = await contest(h)
    first = await student(h, 101, "Әлия Құрманова")
    gp = await student(h, 102, "Данияр Сейітов")
    plain = await student(h, 103, "Ирина Ким")
    rejected = await student(h, 104, "Арман Оспанов")
    await entry(h, cid, first, place="3", nomination=nom, category=cat)
    await entry(h, cid, first, place="1", nomination=nom, category=cat)  # best place counts
    await entry(h, cid, gp, place="grand_prix")
    await entry(h, cid, plain)
    await entry(h, cid, rejected, status="rejected")
    waiting = await student(h, 105, "Нұрлан Әбенов")
    await entry(h, cid, waiting, status="pending", place="2")  # a place left on an unreviewed one
    async with h.app.sessionmaker() as s:
        winners = await certs.eligible_winners(s, cid)
        participants = await certs.eligible_participants(s, cid)
    by_user = {w.user_id: w for w in winners}
    assert set(by_user) == {first.id, gp.id}
    assert by_user[first.id].details["place"] == "1"
    assert by_user[first.id].details["nomination"]["kk"] == "Үздік бейне"
    assert by_user[first.id].details["category"]["ru"] == "14–17 лет"
    assert by_user[gp.id].details["place"] == "grand_prix"
    assert [p.user_id for p in participants] == [plain.id]


async def test_an_action_counts_everyone_who_joined(h):
    cid, _nom, _cat = await contest(h, kind="action", status="closed")
    joined = await student(h, 101, "Әлия Құрманова")
    async with h.app.sessionmaker() as s:
        s.add(ChallengeParticipant(challenge_id=cid, user_id=joined.id))
        await s.commit()
        assert [p.user_id for p in await certs.eligible_participants(s, cid)] == [joined.id]


async def test_a_contest_without_results_gives_nothing_yet(h):
    cid, _nom, _cat = await contest(h, status="closed")
    async with h.app.sessionmaker() as s:
        with pytest.raises(DomainError) as err:
            await certs.eligible_winners(s, cid)
    assert err.value.code == "cert_not_finished"


async def test_webinar_attendance(h):
    wid = await webinar(h)
    came = await student(h, 101, "Әлия Құрманова")
    absent = await student(h, 102, "Данияр Сейітов")
    left = await student(h, 103, "Ирина Ким")
    await attend(h, wid, came)
    await attend(h, wid, absent, attended=False)
    await attend(h, wid, left, status="cancelled")
    future = await webinar(h, days_ago=-2)
    async with h.app.sessionmaker() as s:
        people = await certs.eligible_webinar(s, wid, h.app.now(), h.app.settings.tz)
        assert [p.user_id for p in people] == [came.id]
        with pytest.raises(DomainError):
            await certs.eligible_webinar(s, future, h.app.now(), h.app.settings.tz)


async def test_series_completion_needs_the_minimum(h):
    ids = [await webinar(h, days_ago=d) for d in (9, 8, 7)]
    keen = await student(h, 101, "Әлия Құрманова")
    once = await student(h, 102, "Данияр Сейітов")
    for wid in ids:
        await attend(h, wid, keen)
    await attend(h, ids[0], once)
    await attend(h, ids[1], once, attended=False)
    source = certs.parse_source(f"series {ids[0]}-{ids[2]} 2 Көшбасшылар мектебі")
    assert source.webinar_ids == tuple(ids) and source.minimum == 2
    async with h.app.sessionmaker() as s:
        people = await certs.eligible_series(s, source)
    assert [(p.user_id, p.details["attended"], p.details["total"]) for p in people] == [
        (keen.id, 3, 3)]


def test_parse_source_rejects_nonsense():
    for args in ("", "challenge", "challenge x", "series 1 1", "series 1-3 5", "party 2"):
        with pytest.raises(DomainError):
            certs.parse_source(args)


# --- bulk issue through the bot ------------------------------------------------------

async def test_bulk_issue_preview_confirm_deliver_and_reissue(h):
    await make_staff(h)
    cid, nom, cat = await contest(h)
    winner = await student(h, 101, "Әлия Құрманова", locale="kk")
    taker = await student(h, 102, "Ирина Ким", locale="ru")
    nameless = await student(h, 103, None)
    await entry(h, cid, winner, place="1", nomination=nom, category=cat)
    await entry(h, cid, taker)
    await entry(h, cid, nameless)
    staff = h.user(900)

    await staff.send(f"/certificates challenge {cid}")
    # nobody signs yet: asked first (no nameless "Director"), then the sample follows
    assert "Nobody signs «Winner's diploma» yet" in staff.last_text()
    assert "New certificates to issue: 2" in staff.last_text()
    await staff.send("Director | A. Seitov")
    assert "Nobody signs «Participant's certificate» yet" in staff.last_text()
    await staff.send("Director | A. Seitov\nMethodologist | B. Ospanova")
    preview = h.api.last(900)
    assert preview.method == "sendDocument"
    assert "New certificates to issue: 2" in preview.text
    assert "Without a name in the profile" in preview.text
    assert "Әлия Құрманова" in pdf_text(preview.files["document"])
    await staff.click("Issue 2")
    assert "Issued: 2 new" in staff.last_text()
    await staff.press(CertCD(action="drop").pack())  # the old Cancel: issued is issued
    answer = h.api.of("answerCallbackQuery", None)[-1].params["text"]
    assert answer == "This button is no longer active."
    await h.drain()

    kk_docs, ru_docs = sent_documents(h, 101), sent_documents(h, 102)
    assert len(kk_docs) == 1 and len(ru_docs) == 1 and not sent_documents(h, 103)
    kk_text = pdf_text(kk_docs[0].files["document"])
    assert "Әлия Құрманова" in kk_text and "ДИПЛОМ" in kk_text and "I орын" in kk_text
    assert "Үздік бейне" in kk_text
    ru_text = pdf_text(ru_docs[0].files["document"])
    assert "Ирина Ким" in ru_text and "СЕРТИФИКАТ" in ru_text
    assert "Наш Школьный парламент" in ru_text
    async with h.app.sessionmaker() as s:
        numbers = dict((await s.execute(select(Certificate.user_id, Certificate.number))).all())
    assert numbers[winner.id] in kk_text and numbers[taker.id] in ru_text
    assert kk_docs[0].params["document"] == "attach://document"
    assert kk_docs[0].file_names["document"] == f"{numbers[winner.id]}.pdf"
    assert ru_docs[0].file_names["document"] == f"{numbers[taker.id]}.pdf"
    assert f"/verify {numbers[taker.id]}" in ru_docs[0].text

    # the nameless one fixes the name; running again issues only the missing certificate
    async with h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.id == nameless.id).values(full_name="Арман Ли"))
        await s.commit()
    await staff.send(f"/certificates challenge {cid}")
    await staff.click("Issue 1")
    await h.drain()
    assert len(sent_documents(h, 103)) == 1
    assert len(sent_documents(h, 101)) == 1
    await staff.send(f"/certificates challenge {cid}")
    assert "Nothing new to issue" in staff.last_text()
    assert "Issued before: 3" in staff.last_text()
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Certificate)) == 3


async def test_cancel_issues_nothing(h):
    await make_staff(h)
    await signed(h)
    wid = await webinar(h)
    await attend(h, wid, await student(h, 101, "Әлия Құрманова"))
    staff = h.user(900)
    await staff.send(f"/certificates webinar {wid}")
    await staff.click("✖️")
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Certificate)) == 0
    await staff.send(f"/certificates webinar {wid}")
    await staff.click("Issue 1")
    await h.drain()
    text = pdf_text(sent_documents(h, 101)[0].files["document"])
    assert "Өзін-өзі басқару" in text and "вебинар" in text


async def test_students_cannot_issue(h):
    await student(h, 101, "Әлия Құрманова")
    await h.user(101).send("/certificates challenge 1")
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Certificate)) == 0
    assert not h.api.of("sendDocument")


async def test_sending_is_paced_and_the_queue_holds_no_pdf(h, monkeypatch):
    monkeypatch.setattr(certs.delivery, "queue_target", lambda rate: 2)
    wid = await webinar(h)
    for n in range(5):
        await attend(h, wid, await student(h, 200 + n, f"Оқушы Ерекше-{n}",
                                           org=f"Мектеп Ерекше-{n}"))
    async with h.app.sessionmaker() as s:
        result = await certs.issue(s, certs.Source("webinar", wid), None, h.app.now(),
                                   h.app.settings.tz)
        await s.commit()
    assert result.new == 5
    await certificates_tick(h.app)
    async with h.app.sessionmaker() as s:
        queued = (await s.scalars(select(OutboxPayload.body))).all()
    # what waits in the queue: a few hundred bytes each, no PDF, no name, no school
    assert len(queued) == 2
    for body in queued:
        assert body["document_bytes_b64"] is None and body["document"]["maker"] == "certificate"
        raw = json.dumps(body, ensure_ascii=False)
        assert len(raw.encode()) < 4000 and "Ерекше" not in raw
    assert await h.drain() == 2
    await certificates_tick(h.app)
    assert await h.drain() == 2
    await certificates_tick(h.app)
    await h.drain()
    await certificates_tick(h.app)
    assert len(h.api.of("sendDocument")) == 5
    async with h.app.sessionmaker() as s:
        numbers = dict((await s.execute(select(Certificate.user_id, Certificate.number))).all())
        users = dict((await s.execute(select(User.tg_id, User.id))).all())
    for n in range(5):  # everyone got their own PDF, rendered as it was sent
        [doc] = sent_documents(h, 200 + n)
        number = numbers[users[200 + n]]
        assert doc.file_names["document"] == f"{number}.pdf"
        assert doc.files["document"][:5] == b"%PDF-"
        text = pdf_text(doc.files["document"])
        assert f"Оқушы Ерекше-{n}" in text and f"Мектеп Ерекше-{n}" in text and number in text


async def test_the_background_is_printed_even_without_its_cached_file(h):
    from bot.services.pdf import background_digest, background_path

    wid = await webinar(h)
    await attend(h, wid, await student(h, 101, "Әлия Құрманова"))
    colour = Image.new("RGB", (900, 640), (12, 34, 56))  # a picture of this test only
    data = io.BytesIO()
    colour.save(data, "PNG")
    async with h.app.sessionmaker() as s:
        await certs.set_background(s, "webinar", data.getvalue(), None)
        await certs.issue(s, certs.Source("webinar", wid), None, h.app.now(), h.app.settings.tz)
        await s.commit()
        jpeg = (await certs.get_settings(s, "webinar")).background
    await certificates_tick(h.app)
    cached = background_path(background_digest(jpeg))
    assert cached is not None
    Path(cached).unlink()  # another machine sends it, or the temporary folder was cleaned
    await h.drain()
    [doc] = sent_documents(h, 101)
    assert b"/DCTDecode" in doc.files["document"]
    assert "Әлия Құрманова" in pdf_text(doc.files["document"])


async def test_a_failing_render_is_retried_not_lost(h, monkeypatch):
    wid = await webinar(h)
    await attend(h, wid, await student(h, 101, "Әлия Құрманова"))
    async with h.app.sessionmaker() as s:
        await certs.issue(s, certs.Source("webinar", wid), None, h.app.now(), h.app.settings.tz)
        await s.commit()
    await certificates_tick(h.app)

    async def broken(sessionmaker, spec):
        raise OSError("disk full")

    monkeypatch.setitem(h.app.delivery.makers, "certificate", broken)
    await h.drain()
    assert not sent_documents(h, 101)
    async with h.app.sessionmaker() as s:
        row = await s.scalar(select(Delivery).where(Delivery.source_type == "certificate"))
    assert row.status == "queued" and row.attempts == 1 and "disk full" in row.error


def test_the_queue_holds_more_than_a_tick_of_sending():
    for rate in (0.5, 1, 5, 25, 30, 50, 100):  # DELIVERY_RATE, messages a second
        target = certs.queue_target(rate)
        assert target >= rate * certs.TICK_SECONDS  # the worker never waits for a tick
        assert certs.QUEUE_MIN <= target <= certs.QUEUE_MAX
    assert certs.queue_target(25) == 500  # the default rate: 20 s of sending
    assert certs.queue_target(1000) == certs.queue_target(None) == certs.QUEUE_MAX


async def test_a_tick_tops_the_queue_up_to_the_target(h, monkeypatch):
    # 5 at the test's DELIVERY_RATE of 25
    monkeypatch.setattr(certs.delivery, "QUEUE_SECONDS", 0.2)
    monkeypatch.setattr(certs.delivery, "QUEUE_MIN", 1)
    # the registry is read in several chunks
    monkeypatch.setattr(certs.delivery, "ENQUEUE_CHUNK", 2)
    assert certs.queue_target(h.app.settings.delivery_rate) == 5
    wid = await webinar(h)
    for n in range(8):
        await attend(h, wid, await student(h, 200 + n, f"Оқушы {n}"))
    async with h.app.sessionmaker() as s:
        await certs.issue(s, certs.Source("webinar", wid), None, h.app.now(), h.app.settings.tz)
        await s.commit()

    async def waiting() -> tuple[int, int]:
        async with h.app.sessionmaker() as s:
            return (await certs.in_flight(s), await s.scalar(
                select(func.count()).select_from(Certificate)
                .where(Certificate.queued_at.is_(None))))

    await certificates_tick(h.app)
    assert await waiting() == (5, 3)
    await certificates_tick(h.app)  # still full: nothing more
    assert await waiting() == (5, 3)
    assert await h.drain() == 5
    await certificates_tick(h.app)
    assert await waiting() == (3, 0)
    await h.drain()
    assert len(h.api.of("sendDocument")) == 8


def test_a_big_background_is_scaled_down_smoothly():
    width, height = 2339, 1654  # A4 at 200 dpi
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    data = io.BytesIO()
    gradient.save(data, "PNG")
    jpeg = certs.normalize_background(data.getvalue())
    with Image.open(io.BytesIO(jpeg)) as img:
        assert img.format == "JPEG" and img.size == certs.BACKGROUND_MAX
        reference = gradient.resize(img.size, Image.Resampling.BICUBIC)
        _, worst = ImageChops.difference(img.convert("RGB"), reference).getextrema()[0]
    assert worst <= 8  # JPEG noise only: no seams between the scaled bands
    small = io.BytesIO()
    Image.new("P", (600, 400)).save(small, "PNG")
    with Image.open(io.BytesIO(certs.normalize_background(small.getvalue()))) as img:
        assert img.size == (600, 400) and img.mode == "RGB"


# --- registry: verify, revoke, export ------------------------------------------------

async def issued(h, name: str = "Әлия Құрманова", locale: str = "kk") -> Certificate:
    wid = await webinar(h)
    await attend(h, wid, await student(h, 101, name, locale=locale))
    async with h.app.sessionmaker() as s:
        await certs.issue(s, certs.Source("webinar", wid), None, h.app.now(), h.app.settings.tz)
        await s.commit()
        return await s.scalar(select(Certificate))


async def test_verify_genuine_unknown_and_revoked(h):
    cert = await issued(h)
    await make_staff(h)
    guest = h.user(555, language_code="ru")
    await guest.send(f"/verify {cert.number.lower()}")
    assert "Әлия Қ." in guest.last_text() and cert.number in guest.last_text()
    assert "Құрманова" not in guest.last_text()  # the holder in part (L6)
    await guest.send(f"/start v_{cert.number}")
    assert "Әлия Қ." in guest.last_text()
    await guest.send("/verify D26-999999-ZZZZ")
    assert "D26-999999-ZZZZ" in guest.last_text() and "Әлия" not in guest.last_text()
    await guest.send("/start v_nonsense")
    assert "NONSENSE" in guest.last_text()

    await h.user(900).send(f"/certificates revoke {cert.number}")  # no reason: not revoked
    assert "/certificates revoke NUMBER reason" in h.user(900).last_text()
    await guest.send(f"/verify {cert.number}")
    assert "⛔" not in guest.last_text()
    await h.user(900).send(f"/certificates revoke {cert.number} issued by mistake")
    assert cert.number in h.user(900).last_text()
    await guest.send(f"/start v_{cert.number}")
    assert "⛔" in guest.last_text() and "issued by mistake" in guest.last_text()
    await h.user(900).send(f"/certificates revoke {cert.number} again")
    assert "was already revoked" in h.user(900).last_text()
    async with h.app.sessionmaker() as s:
        row = await s.get(Certificate, cert.id)
        assert row.revoked_at == h.app.now() and row.revoke_reason == "issued by mistake"


async def queued_two(h) -> tuple[Certificate, Certificate]:
    """Two webinar certificates issued and handed to the delivery queue, not sent yet."""
    wid = await webinar(h)
    await attend(h, wid, await student(h, 101, "Әлия Құрманова"))
    await attend(h, wid, await student(h, 102, "Ирина Ким", locale="ru"))
    async with h.app.sessionmaker() as s:
        await certs.issue(s, certs.Source("webinar", wid), None, h.app.now(), h.app.settings.tz)
        await s.commit()
    await certificates_tick(h.app)
    async with h.app.sessionmaker() as s:
        first, second = (await s.scalars(select(Certificate).order_by(Certificate.id))).all()
        assert first.queued_at is not None and second.queued_at is not None
        assert await certs.in_flight(s) == 2
    return first, second


async def delivery_of(h, cert: Certificate) -> Delivery:
    async with h.app.sessionmaker() as s:
        return await s.scalar(select(Delivery).where(Delivery.source_type == "certificate",
                                                     Delivery.source_id == cert.id))


async def test_a_certificate_revoked_in_the_queue_is_not_sent(h):
    revoked, kept = await queued_two(h)
    await make_staff(h)
    await h.user(900).send(f"/certificates revoke {revoked.number} wrong person")
    assert revoked.number in h.user(900).last_text()
    row = await delivery_of(h, revoked)
    assert row.status == "cancelled" and row.error == certs.REVOKED  # at once, not when sent
    async with h.app.sessionmaker() as s:
        assert await certs.in_flight(s) == 1

    assert await h.drain() == 1
    assert not sent_documents(h, 101)
    [doc] = sent_documents(h, 102)
    assert kept.number in pdf_text(doc.files["document"])
    row = await delivery_of(h, revoked)
    assert row.status == "cancelled" and row.sent_at is None and row.sent_message_id is None
    assert (await delivery_of(h, kept)).status == "sent"
    await certificates_tick(h.app)  # nothing is queued again
    assert await h.drain() == 0
    assert not sent_documents(h, 101)
    guest = h.user(555)
    await guest.send(f"/verify {revoked.number}")
    assert "⛔" in guest.last_text()


async def test_a_certificate_revoked_while_the_worker_holds_it_is_not_sent(h, monkeypatch):
    revoked, kept = await queued_two(h)
    render = certs.make_document

    async def revoked_meanwhile(sessionmaker, spec):
        # staff revoke it after the worker claimed the row, before it renders the PDF
        if spec["id"] == revoked.id:
            async with sessionmaker() as s:
                await certs.revoke(s, revoked.number, None, "duplicate", h.app.now())
                await s.commit()
        return await render(sessionmaker, spec)

    monkeypatch.setitem(h.app.delivery.makers, "certificate", revoked_meanwhile)
    await h.drain()
    assert not sent_documents(h, 101)
    [doc] = sent_documents(h, 102)
    assert kept.number in pdf_text(doc.files["document"])
    row = await delivery_of(h, revoked)
    assert (row.status, row.error, row.attempts) == ("cancelled", certs.REVOKED, 1)
    assert row.sent_at is None and row.sent_message_id is None and row.claimed_by is None
    async with h.app.sessionmaker() as s:
        assert await certs.in_flight(s) == 0  # nothing left waiting: pacing goes on
        cert = await s.get(Certificate, revoked.id)
        assert cert.revoked_at is not None and cert.revoke_reason == "duplicate"
    assert await h.drain() == 0  # never retried
    assert not sent_documents(h, 101)


async def test_a_certificate_revoked_before_it_is_queued_is_never_queued(h):
    cert = await issued(h)
    async with h.app.sessionmaker() as s:
        await certs.revoke(s, cert.number, None, "", h.app.now())
        await s.commit()
    await certificates_tick(h.app)
    await h.drain()
    assert not h.api.of("sendDocument")
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Delivery)) == 0
        assert (await s.get(Certificate, cert.id)).queued_at is None


async def test_numbers_are_unique_and_well_formed(h):
    wid = await webinar(h)
    for n in range(3):
        await attend(h, wid, await student(h, 300 + n, f"Оқушы {n}"))
    async with h.app.sessionmaker() as s:
        await certs.issue(s, certs.Source("webinar", wid), None, h.app.now(), h.app.settings.tz)
        numbers = (await s.scalars(select(Certificate.number))).all()
    assert len(set(numbers)) == 3
    assert all(certs.NUMBER_RE.match(n) and n.startswith("W26-") for n in numbers)


async def test_registry_export(h):
    cert = await issued(h)
    await make_staff(h)
    await h.user(900).send("/certificates export")
    call = h.api.last(900)
    assert call.method == "sendDocument"
    rows = list(load_workbook(io.BytesIO(call.files["document"])).active.values)
    assert len(rows) == 2
    assert rows[1][0] == cert.number and rows[1][2] == "Әлия Құрманова"


# --- templates -----------------------------------------------------------------------

def picture() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 850), (250, 240, 200)).save(out, "PNG")
    return out.getvalue()


async def test_signatories_flow_and_per_language_lists(h):
    await make_staff(h)
    staff = h.user(900)
    await staff.send("/certificates templates")
    await staff.click("diploma")
    await staff.click("Signatories")
    await staff.send("no separator here")
    assert "Title | Name" in staff.last_text()
    await staff.send("Директор | А. Сейітов\n[ru]\nДиректор центра | А. Сеитов")
    preview = h.api.last(900)
    assert preview.method == "sendDocument"
    assert "А. Сейітов" in pdf_text(preview.files["document"])  # staff reads English: "*"
    async with h.app.sessionmaker() as s:
        settings = await certs.get_settings(s, "winner")
    assert certs.signatories_for(h.app.translator, settings, "ru") == [("Директор центра",
                                                                  "А. Сеитов")]
    assert certs.signatories_for(h.app.translator, settings, "kk") == [("Директор", "А. Сейітов")]


async def test_background_is_normalised_and_printed(h):
    async with h.app.sessionmaker() as s:
        await certs.set_background(s, "webinar", picture(), None)
        await s.commit()
        settings = await certs.get_settings(s, "webinar")
    assert settings.background[:2] == b"\xff\xd8"  # stored as JPEG
    cert = certs.sample_certificate("webinar", "kk", h.app.now())
    pdf = certs.render(h.app.translator, cert, settings, "bot", h.app.settings.tz)
    assert b"/DCTDecode" in pdf
    with pytest.raises(DomainError):
        certs.normalize_background(b"not a picture")


async def test_a_broken_background_file_is_refused(h):
    await make_staff(h)
    staff = h.user(900)
    await staff.send("/certificates templates")
    await staff.click("Webinar")
    await staff.click("Background")
    await staff.send("hello")
    assert "picture" in staff.last_text()
    await staff.send_content(document={"file_id": "doc1", "file_unique_id": "u1",
                                       "file_name": "bg.png", "file_size": 100})
    assert "JPEG or PNG" in staff.last_text()


async def test_usage_and_series_through_the_bot(h):
    await make_staff(h)
    await signed(h)
    staff = h.user(900)
    await staff.send("/certificates")
    assert "/certificates webinar N" in staff.last_text()
    ids = [await webinar(h, days_ago=d) for d in (9, 8, 7)]
    keen = await student(h, 101, "Әлия Құрманова", locale="ru")
    for wid in ids[:2]:
        await attend(h, wid, keen)
    await staff.send(f"/certificates series {ids[0]},{ids[1]},{ids[2]} 2 Школа лидеров")
    await staff.click("Issue 1")
    await h.drain()
    text = pdf_text(sent_documents(h, 101)[0].files["document"])
    assert "вебинары цикла «Школа лидеров» (2 из 3)" in text


# --- corrections and the holder's own list (issue 17) ----------------------------------

async def test_a_misspelt_certificate_is_revoked_and_a_corrected_one_sent(h):
    """Revoke with a reason, the holder fixes the name, re-issue: new number, old revoked,
    the holder told and sent the new file through the delivery queue."""
    cert = await issued(h, name="Алия Курманова")
    await make_staff(h)
    staff = h.user(900)
    await staff.send(f"/certificates revoke {cert.number} the name is misspelt")
    assert f"/certificates reissue {cert.number}" in staff.last_text()
    async with h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.id == cert.user_id)
                        .values(full_name="Әлия Құрманова"))
        await s.commit()
    h.app.users.forget(101)

    await staff.send(f"/certificates reissue {cert.number}")
    async with h.app.sessionmaker() as s:
        old, new = (await s.scalars(select(Certificate).order_by(Certificate.id))).all()
    assert old.revoked_at is not None and old.revoke_reason == "the name is misspelt"
    assert new.revoked_at is None and new.number != old.number
    assert certs.is_number(new.number) and new.full_name == "Әлия Құрманова"
    assert new.details["replaces"] == old.number and new.details["title"] == old.details["title"]
    assert new.number in staff.last_text() and "Әлия Құрманова" in staff.last_text()

    await h.drain()
    docs = sent_documents(h, 101)
    assert [d.file_names["document"] for d in docs] == [f"{new.number}.pdf"]
    assert "Әлия Құрманова" in pdf_text(docs[0].files["document"])
    assert old.number in docs[0].text and "түзетілген" in docs[0].text  # told, in kk
    async with h.app.sessionmaker() as s:
        row = await s.scalar(select(Delivery).where(Delivery.source_id == new.id))
        assert row.source_type == "certificate" and row.status == "sent"  # the queue, not a loop

    guest = h.user(555, language_code="ru")
    await guest.send(f"/verify {old.number}")
    assert "⛔" in guest.last_text()
    await guest.send(f"/verify {new.number}")
    assert "✅" in guest.last_text()
    await staff.send(f"/certificates reissue {old.number}")  # once is enough
    assert f"already been replaced by No. {new.number}" in staff.last_text()


async def test_reissue_revokes_a_valid_one_only_with_a_reason(h):
    cert = await issued(h)
    await make_staff(h)
    staff = h.user(900)
    await staff.send(f"/certificates reissue {cert.number}")
    assert "/certificates reissue NUMBER reason" in staff.last_text()
    await staff.send(f"/certificates reissue {cert.number} wrong school")
    async with h.app.sessionmaker() as s:
        rows = (await s.scalars(select(Certificate).order_by(Certificate.id))).all()
    assert len(rows) == 2 and rows[0].revoke_reason == "wrong school"
    await h.user(101).send("/start")  # a student cannot
    await h.user(101).send(f"/certificates reissue {rows[1].number} x")
    async with h.app.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Certificate)) == 2


@pytest.mark.parametrize("lang", ["kk", "ru"])
async def test_my_lists_certificates_to_download_again(h, lang):
    cert = await issued(h, locale=lang)
    other = await student(h, 102, "Ирина Ким")
    me = h.user(101)
    await me.send("/my")
    listing = me.last_text()
    assert cert.number in listing
    assert ("Менің сертификаттарым" if lang == "kk" else "Мои сертификаты") in listing
    await me.click(cert.number)
    doc = h.api.last(101)
    assert doc.method == "sendDocument" and doc.file_names["document"] == f"{cert.number}.pdf"
    assert "Әлия Құрманова" in pdf_text(doc.files["document"])

    # someone else's button (forged) and a revoked one are refused
    from bot.callbacks import MyCertCD

    await h.user(102).send("/my")
    assert cert.number not in h.user(102).last_text()
    assert other.id
    await h.user(102).press(MyCertCD(id=cert.id).pack())
    assert h.api.of("sendDocument", 102) == []
    async with h.app.sessionmaker() as s:
        await certs.revoke(s, cert.number, None, "x", h.app.now())
        await s.commit()
    await me.send("/my")
    assert ("күші жойылған" if lang == "kk" else "отозван") in me.last_text()
    before = len(h.api.of("sendDocument", 101))
    await me.press(MyCertCD(id=cert.id).pack())
    assert len(h.api.of("sendDocument", 101)) == before


async def test_the_registry_names_contests_and_webinars(h):
    cert = await issued(h)
    cid, _nom, _cat = await contest(h)
    winner = await student(h, 102, "Ирина Ким")
    await entry(h, cid, winner, place="1")
    async with h.app.sessionmaker() as s:
        await certs.issue(s, certs.Source("challenge", cid), None, h.app.now(),
                          h.app.settings.tz)
        await s.commit()
        data = await certs.export_registry(s, h.app.translator, "en", h.app.settings.tz)
    ws = load_workbook(io.BytesIO(data)).active
    header = [c.value for c in ws[1]]
    sources = [r[header.index("Source")] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert sources == [f"Webinar «Self-government» (No. {cert.source_id})",
                       f"Contest «Our School Parliament» (No. {cid})"]
    languages = {r[header.index("Language")] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert languages <= {"Қазақша", "Русский", "English"} and languages
