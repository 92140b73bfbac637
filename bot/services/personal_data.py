"""Personal data: what /mydata exports and what /deleteme (or a guardian's refusal) erases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    bindparam,
    delete,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import organisations as orgs
from bot.services.activity import activity_row, log_activity
from bot.services.delivery import forget_messages
from bot.services.identity import forget_contact
from bot.services.links import contact_of, forget_links
from bot.services.media_store import erase_media
from bot.services.users import UserCache
from db.base import utcnow
from db.checkpoint import overwrite_after_commit
from db.models import (
    ActivityLog,
    Broadcast,
    BroadcastAck,
    Certificate,
    Challenge,
    ChallengeParticipant,
    CoordinatorRequest,
    Delivery,
    FsmRecord,
    Invite,
    Organisation,
    ParkedUpdate,
    StoredMedia,
    Submission,
    User,
    WaContact,
    Webinar,
    WebinarRegistration,
    WeeklyReport,
)
from db.models.challenges import JuryMember, JuryScore


async def _forget_activity_details(session: AsyncSession, user_id: int) -> None:
    """Empty the details of a person's activity rows, all but the entry they are about: a
    `winner` row must still meet the `winner_cleared` of its entry (stats.undone_wins)."""
    kept = [{"row_id": r.id, "kept": {"submission_id": r.extra["submission_id"]}}
            for r in (await session.execute(select(ActivityLog.id, ActivityLog.extra).where(
                ActivityLog.user_id == user_id, ActivityLog.extra.is_not(None)))).all()
            if isinstance(r.extra, dict) and r.extra.get("submission_id") is not None]
    await session.execute(update(ActivityLog).where(ActivityLog.user_id == user_id)
                          .values(extra=None))
    if kept:
        table = ActivityLog.__table__
        await session.execute(update(table).where(table.c.id == bindparam("row_id"))
                              .values(extra=bindparam("kept")), kept)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


# What /mydata exports besides the user row: (key, table, the column naming the person).
_EXPORTED: tuple[tuple[str, Table, Any], ...] = (
    ("activity", ActivityLog.__table__, ActivityLog.user_id),
    ("submissions", Submission.__table__, Submission.user_id),
    ("challenge_joins", ChallengeParticipant.__table__, ChallengeParticipant.user_id),
    ("webinar_registrations", WebinarRegistration.__table__, WebinarRegistration.user_id),
    ("certificates", Certificate.__table__, Certificate.user_id),
    ("broadcast_acks", BroadcastAck.__table__, BroadcastAck.user_id),
    ("broadcasts_authored", Broadcast.__table__, Broadcast.author_id),
    ("invites_created", Invite.__table__, Invite.created_by),
    ("jury_memberships", JuryMember.__table__, JuryMember.user_id),
    ("jury_scores_given", JuryScore.__table__, JuryScore.juror_id),
    ("deliveries", Delivery.__table__, Delivery.user_id),
    ("coordinator_requests", CoordinatorRequest.__table__, CoordinatorRequest.user_id),
    ("weekly_reports", WeeklyReport.__table__, WeeklyReport.coordinator_id),
)


async def export_user_data(session: AsyncSession, user: User) -> dict[str, Any]:
    """Everything stored about one person: the user row and every row tied to them (entries
    with their content, joins, webinar registrations and attendance, certificates, ...),
    as plain JSON-able values."""
    data: dict[str, Any] = {
        "user": {c.key: _plain(getattr(user, c.key)) for c in User.__table__.columns}}
    for key, table, owner in _EXPORTED:
        rows = (await session.execute(select(table).where(owner == user.id)
                                      .order_by(table.c.id))).mappings()
        data[key] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    # their WhatsApp address: their own chat, or the one linked by /link (bot.services.links)
    contact = await contact_of(session, user)
    data["whatsapp"] = [] if contact is None else [
        {c.key: _plain(getattr(contact, c.key)) for c in WaContact.__table__.columns}]
    # the files they sent over WhatsApp, described (bot.services.media_store); a linked
    # chat's are kept under its own id
    owners = {user.tg_id} | ({-contact.id} if contact is not None else set())
    files = (await session.execute(select(StoredMedia.__table__).where(
        StoredMedia.owner_id.in_([o for o in owners if o is not None]))
        .order_by(StoredMedia.id))).mappings()
    data["files_sent"] = [{k: _plain(v) for k, v in row.items()} for row in files]
    return data


async def _end_and_log(session: AsyncSession, user: User, kind: str, ref_type: str,
                       ref: Any, where: list[ColumnElement[bool]], **values: Any) -> None:
    """Set `values` on the rows matching `where` and log `kind` once per row (`ref`, a column
    of those rows, as ref_id), as the person's own action would: two set-based statements."""
    row = activity_row(kind, user, ref_type)
    del row["ref_id"], row["extra"]  # extra stays NULL: the person is being erased
    columns = ActivityLog.__table__.c
    logged = select(*(literal(v, columns[k].type) for k, v in row.items()), ref).where(*where)
    await session.execute(insert(ActivityLog).from_select([*row, "ref_id"], logged))
    await session.execute(update(ref.table).where(*where).values(**values)
                          .execution_options(synchronize_session=False))


async def erase_user(session: AsyncSession, cache: UserCache, user: User,
                     now: datetime | None = None) -> None:
    """Erase personal data; the row stays as an anonymous id so counts keep adding up.

    Rows tied to the person stay too, anonymous: entries lose the chat id and what was
    written or sent (text, comment, captions, file ids; the kind and status stay), and those
    still in the running (awaiting review, or approved and neither placed nor judged) are
    withdrawn; registrations for webinars yet to start are cancelled, freeing the seat (past
    attendance stays); certificates lose the printed name and organisation; queued messages
    to them or about them lose their text; their updates parked by polling are deleted, and
    the files they sent over WhatsApp (bot.services.media_store) once committed. On
    SQLite the old values are overwritten on disk (secure_delete) and the write-ahead log that
    still holds them is emptied after commit.
    """
    tg_id, now, org_id = user.tg_id, now or utcnow(), user.organisation_id
    await log_activity(session, "erase", user)
    for field in ("tg_id", "chat_id", "full_name", "username", "org_name", "organisation_id",
                  "grade", "consent_at", "consent_version", "age_band", "guardian_token",
                  "guardian_consent_at", "guardian_consent_version"):
        setattr(user, field, None)
    user.status, user.erased_at, user.settings = "erased", now, {}
    mine = Submission.user_id == user.id
    unjudged = select(Challenge.id).where(Challenge.status != "judged")
    await _end_and_log(session, user, "submission_withdrawn", "challenge",
                       Submission.challenge_id, [mine, (Submission.status == "pending") | (
                           (Submission.status == "approved") & Submission.place.is_(None)
                           & Submission.challenge_id.in_(unjudged))],
                       status="withdrawn", withdrawn_at=now)
    await session.execute(update(Submission).where(mine).values(
        chat_id=None, text=None, comment=None, media=[], media_group_id=None,
        reject_reason=None, org_name=None, organisation_id=None)
        .execution_options(synchronize_session=False))
    await session.execute(update(JuryMember).where(JuryMember.user_id == user.id)
                          .values(org_name=None, organisation_id=None))
    # the school they typed stays in the list, no longer saying who typed it
    await session.execute(update(Organisation).where(Organisation.created_by == user.id)
                          .values(created_by=None))
    await session.flush()
    await orgs.drop_if_unused(session, org_id)
    await _end_and_log(session, user, "webinar_unregister", "webinar",
                       WebinarRegistration.webinar_id, [
                           WebinarRegistration.user_id == user.id,
                           WebinarRegistration.status == "registered",
                           WebinarRegistration.webinar_id.in_(
                               select(Webinar.id).where(Webinar.starts_at > now))],
                       status="cancelled")
    await session.execute(update(Certificate).where(Certificate.user_id == user.id)
                          .values(full_name="", org_name=None))
    # A weekly report's numbers are the area's and keep counting; the note is their words.
    await session.execute(update(WeeklyReport).where(WeeklyReport.coordinator_id == user.id)
                          .values(note=None))
    # A broadcast's progress message is in its author's chat.
    await session.execute(update(Broadcast).where(Broadcast.author_id == user.id)
                          .values(progress_chat_id=None, progress_message_id=None))
    await session.execute(update(Delivery).where(
        Delivery.user_id == user.id, Delivery.status == "queued").values(status="cancelled"))
    # The chat id is the Telegram id: keep the delivery counts, forget whom they reached.
    await session.execute(update(Delivery).where(Delivery.user_id == user.id)
                          .values(chat_id=0, error=None))
    # What was sent to them, and their coordinator request as staff got it, named them.
    await forget_messages(session, user.id, about=[("coordinator_request", user.id)])
    await _forget_activity_details(session, user.id)
    if tg_id is not None:
        await session.execute(FsmRecord.__table__.delete().where(
            FsmRecord.key.like(f"%:{tg_id}:%")))
        # Their updates waiting in polling's parking (raw: their name, what they typed). One
        # still being handled goes on without its row; only a crash would have replayed it.
        await session.execute(delete(ParkedUpdate).where(ParkedUpdate.sender_id == tg_id))
    await forget_contact(session, tg_id)  # a WhatsApp person's address (bot.services.identity)
    await erase_media(session, tg_id)  # the files they sent over WhatsApp, kept on disk
    for linked in await forget_links(session, user.id):  # their other messenger (/link)
        await erase_media(session, linked)
    cache.forget(tg_id)
    overwrite_after_commit(session)
