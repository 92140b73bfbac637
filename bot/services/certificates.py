"""Certificates: who is eligible, the registry (numbers, revoking, export), template settings,
the printed texts per language, and handing the PDFs to the delivery queue.

The PDF is never stored: the queued message holds the printed texts (translated when it is
queued; about 2 KB, nothing personal) and the delivery worker renders the PDF from them and
the registry row as it sends it (`make_document`), so memory stays flat however many are
issued. A certificate revoked before it is queued is never queued; one revoked after is not
sent: its queued row is cancelled by `revoke`, and a row the worker has already claimed is
cancelled when the worker finds the revocation at rendering (`DocumentWithdrawn`).
Sending is paced: every tick (TICK_SECONDS) tops the delivery queue up to `queue_target`
certificates, QUEUE_SECONDS of sending at the delivery rate (two ticks' worth, so the worker
never waits for the next tick), within QUEUE_MIN..QUEUE_MAX.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.activity import log_activity
from bot.services.delivery import DocumentWithdrawn, OutgoingMessage, Recipient, enqueue
from bot.services.errors import DomainError
from bot.services.guardian import as_seen_by_others
from bot.services.numbers import as_int, check_digits
from bot.services.text import strip_controls
from db.models import (
    Certificate,
    CertificateTemplate,
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

logger = logging.getLogger(__name__)

TEMPLATES = ("winner", "participant", "webinar", "series")
NUMBER_LETTER = {"winner": "D", "participant": "P", "webinar": "W", "series": "S"}
CHECK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LOCALES = ("kk", "ru", "en")
PLACES = ("grand_prix", "1", "2", "3", "diploma")
SOURCE_TYPE = "certificate"  # delivery queue source
TICK_SECONDS = 10  # bot.scheduler runs `tick` this often
QUEUE_SECONDS = 2 * TICK_SECONDS  # how much sending the queue holds after a tick
QUEUE_MIN, QUEUE_MAX = 50, 2000  # certificates waiting in the delivery queue (~2 KB each)
ENQUEUE_CHUNK = 500  # registry rows read and queued at a time
COMPACT_CHUNK = 20
REVOKED = "the certificate was revoked"  # the error of a delivery cancelled by revoking
BACKGROUND_MAX = (1754, 1240)  # A4 landscape at 150 dpi: sharp enough, ~150 KB
# D26-7KQM-3XRT-P9WF-HN2C: template letter, year, then 16 random characters of a 32-letter
# alphabet (80 bits) in groups of four: nothing to count up, nothing worth guessing.
NUMBER_GROUPS = 4
NUMBER_RE = re.compile(r"^[DPWS][0-9]{2}(-[A-HJ-NP-Z2-9]{4}){4}$")
# Numbers issued before (D26-000123-ABCD: a sequential id and 20 random bits) still verify.
LEGACY_NUMBER_RE = re.compile(r"^[DPWS][0-9]{2}-[0-9]{6,}-[A-Z0-9]{4}$")
_COMPACT_RE = re.compile(r"^([DPWS][0-9]{2})([A-HJ-NP-Z2-9]{16})$")

if TYPE_CHECKING:
    from bot.services.pdf import PdfContent


class Translator(Protocol):
    def t(self, locale: str, msgid: str, **kwargs: Any) -> str: ...


# --- sources and eligibility -----------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """What a bulk issue is for: a challenge, a webinar, or a series of webinars."""

    kind: str  # challenge | webinar | series
    id: int | None = None
    webinar_ids: tuple[int, ...] = ()
    minimum: int = 0
    title: str = ""

    @property
    def key(self) -> str:
        if self.kind == "series":
            return "series:" + ",".join(map(str, self.webinar_ids))
        return f"{self.kind}:{self.id}"


@dataclass
class Eligible:
    user_id: int
    template: str
    slot: str  # tells apart two certificates of one template, source and person
    details: dict[str, Any] = field(default_factory=dict)


def _ids(text: str) -> tuple[int, ...]:
    found: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if re.fullmatch(r"[0-9]{1,9}-[0-9]{1,9}", part):
            low, high = map(int, part.split("-"))
            if high < low or high - low > 500:
                raise DomainError("cert_usage")
            found.extend(range(low, high + 1))
        elif (number := as_int(part)) is not None:
            found.append(number)
        else:
            raise DomainError("cert_usage")
    return tuple(sorted(set(found)))


def parse_source(args: str) -> Source:
    """`challenge 5` | `webinar 3` | `series 3-17 12 Title of the series`."""
    parts = args.split(maxsplit=3)
    check_digits(" ".join(parts[:3]))
    if len(parts) == 2 and parts[0] in ("challenge", "webinar") and \
            (source_id := as_int(parts[1])) is not None:
        return Source(parts[0], source_id)
    if len(parts) >= 3 and parts[0] == "series" and (minimum := as_int(parts[2])) is not None:
        ids = _ids(parts[1])
        title = parts[3].strip() if len(parts) == 4 else ""
        if len(ids) < 2 or not 1 <= minimum <= len(ids) or len(title) > 200:
            raise DomainError("cert_usage")
        return Source("series", None, ids, minimum, title)
    raise DomainError("cert_usage")


def _names(obj: Any, method: str = "text", attr: str = "title") -> dict[str, str]:
    if method == "text":
        return {loc: obj.text(attr, loc) for loc in LOCALES}
    return {loc: obj.name(loc) for loc in LOCALES}


async def _challenge(session: AsyncSession, challenge_id: int) -> Challenge:
    challenge = await session.get(Challenge, challenge_id)
    if challenge is None:
        raise DomainError("not_found")
    finished = ("judged",) if challenge.kind == "contest" else ("closed", "judged")
    if challenge.status not in finished:
        raise DomainError("cert_not_finished")
    return challenge


async def eligible_winners(session: AsyncSession, challenge_id: int) -> list[Eligible]:
    """Winner diplomas: entries with a place (as the results announced them); one per
    person per nomination and age category, the best place if several."""
    challenge = await _challenge(session, challenge_id)
    options = {o.id: o for o in await session.scalars(
        select(ChallengeOption).where(ChallengeOption.challenge_id == challenge_id))}
    rows = (await session.execute(
        select(Submission.user_id, Submission.place, Submission.nomination_id,
               Submission.category_id)
        .where(Submission.challenge_id == challenge_id, Submission.place.is_not(None),
               Submission.status == "approved")  # as publish_results announces places
        .order_by(Submission.id))).all()
    best: dict[tuple[int, str], Eligible] = {}
    for user_id, place, nomination_id, category_id in rows:
        if place not in PLACES:
            continue
        slot = f"{nomination_id or 0}-{category_id or 0}"
        current = best.get((user_id, slot))
        if current and PLACES.index(current.details["place"]) <= PLACES.index(place):
            continue
        nomination, category = options.get(nomination_id), options.get(category_id)
        best[(user_id, slot)] = Eligible(user_id, "winner", slot, {
            "title": _names(challenge), "kind": challenge.kind, "place": place,
            "nomination": _names(nomination, "name") if nomination else None,
            "category": _names(category, "name") if category else None,
        })
    return list(best.values())


async def eligible_participants(session: AsyncSession, challenge_id: int) -> list[Eligible]:
    """Participant certificates: an approved entry (or, for an action, joining it), and no
    place among the winners (they get the diploma instead)."""
    challenge = await _challenge(session, challenge_id)
    users = set(await session.scalars(
        select(Submission.user_id).where(Submission.challenge_id == challenge_id,
                                         Submission.status == "approved")))
    if challenge.kind == "action":
        users |= set(await session.scalars(select(ChallengeParticipant.user_id).where(
            ChallengeParticipant.challenge_id == challenge_id)))
    winners = set(await session.scalars(
        select(Submission.user_id).where(Submission.challenge_id == challenge_id,
                                         Submission.status == "approved",
                                         Submission.place.in_(PLACES))))
    details = {"title": _names(challenge), "kind": challenge.kind}
    return [Eligible(uid, "participant", "", dict(details)) for uid in sorted(users - winners)]


async def eligible_webinar(session: AsyncSession, webinar_id: int, now: datetime,
                           tz: ZoneInfo) -> list[Eligible]:
    """Attendance certificates: registered people marked as attended."""
    webinar = await session.get(Webinar, webinar_id)
    if webinar is None:
        raise DomainError("not_found")
    if webinar.status == "cancelled" or webinar.starts_at > now:
        raise DomainError("cert_not_finished")
    users = await session.scalars(
        select(WebinarRegistration.user_id)
        .where(WebinarRegistration.webinar_id == webinar_id,
               WebinarRegistration.attended_at.is_not(None),
               WebinarRegistration.status != "cancelled")
        .order_by(WebinarRegistration.user_id))
    details = {"title": _names(webinar),
               "date": webinar.starts_at.astimezone(tz).strftime("%d.%m.%Y")}
    return [Eligible(uid, "webinar", "", dict(details)) for uid in users]


async def eligible_series(session: AsyncSession, source: Source) -> list[Eligible]:
    """Series completion: attended at least `minimum` of the listed webinars."""
    found = set(await session.scalars(
        select(Webinar.id).where(Webinar.id.in_(source.webinar_ids))))
    if found != set(source.webinar_ids):
        raise DomainError("not_found")
    attended = func.count(WebinarRegistration.id)
    rows = (await session.execute(
        select(WebinarRegistration.user_id, attended)
        .where(WebinarRegistration.webinar_id.in_(source.webinar_ids),
               WebinarRegistration.attended_at.is_not(None),
               WebinarRegistration.status != "cancelled")
        .group_by(WebinarRegistration.user_id)
        .having(attended >= source.minimum)
        .order_by(WebinarRegistration.user_id))).all()
    title = {loc: source.title for loc in LOCALES}
    total = len(source.webinar_ids)
    return [Eligible(uid, "series", "", {"title": title, "attended": n, "total": total})
            for uid, n in rows]


async def eligible_for(session: AsyncSession, source: Source, now: datetime,
                       tz: ZoneInfo) -> list[Eligible]:
    if source.kind == "challenge":
        return (await eligible_winners(session, source.id or 0)
                + await eligible_participants(session, source.id or 0))
    if source.kind == "webinar":
        return await eligible_webinar(session, source.id or 0, now, tz)
    return await eligible_series(session, source)


# --- planning and issuing --------------------------------------------------------------

def issue_key(source: Source, person: Eligible) -> str:
    key = f"{person.template}:{source.key}:{person.user_id}:{person.slot}"
    if len(key) > 120:  # a long series list: keep the key short but stable
        import hashlib

        digest = hashlib.sha1(source.key.encode()).hexdigest()[:16]
        key = f"{person.template}:series#{digest}:{person.user_id}:{person.slot}"
    return key


@dataclass
class Plan:
    new: list[tuple[Eligible, User]]
    existing: int
    no_name: int
    by_template: dict[str, int]
    # Minors still waiting for a guardian's confirmation: skipped; a later run after the
    # confirmation issues theirs (the issue key is only taken when a certificate is made).
    waiting: int = 0


async def plan_issue(session: AsyncSession, source: Source, now: datetime,
                     tz: ZoneInfo) -> Plan:
    """Who would get a certificate now, without writing anything."""
    people = await eligible_for(session, source, now, tz)
    users: dict[int, User] = {}
    ids = sorted({p.user_id for p in people})
    for start in range(0, len(ids), 500):
        chunk_ids = ids[start:start + 500]
        for user in await session.scalars(select(User).where(User.id.in_(chunk_ids))):
            users[user.id] = user
    keys = [issue_key(source, p) for p in people]
    existing: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        existing |= set(await session.scalars(
            select(Certificate.issue_key).where(Certificate.issue_key.in_(chunk))))
    plan = Plan([], 0, 0, {})
    for person, key in zip(people, keys, strict=True):
        user = users.get(person.user_id)
        if key in existing:
            plan.existing += 1
        elif user is None or user.status in ("erased", "rejected"):
            continue
        elif user.limited:
            plan.waiting += 1
        elif not (user.full_name or "").strip():
            plan.no_name += 1
        else:
            plan.new.append((person, user))
            plan.by_template[person.template] = plan.by_template.get(person.template, 0) + 1
    return plan


def make_number(template: str, year: int) -> str:
    """A new certificate number: 80 random bits behind the template letter and year."""
    groups = ("".join(secrets.choice(CHECK_ALPHABET) for _ in range(4))
              for _ in range(NUMBER_GROUPS))
    return f"{NUMBER_LETTER[template]}{year % 100:02d}-" + "-".join(groups)


def normalize_number(text: str) -> str:
    """As typed or scanned: any case, spaces, a leading № or #, the QR link's "v_"; a new
    number typed without its dashes gets them back."""
    value = re.sub(r"\s+", "", text or "").upper().lstrip("№#").removeprefix("V_")
    if m := _COMPACT_RE.match(value.replace("-", "")):
        head, tail = m.groups()
        value = head + "".join(f"-{tail[i:i + 4]}" for i in range(0, len(tail), 4))
    return value


def public_name(full_name: str | None) -> str:
    """The holder as /verify shows them to anyone: the first word whole, the others as
    initials ("Aida Nurlanova" -> "Aida N."). Enough to match the printed certificate in
    hand; not a full name for whoever scans a QR code posted online. The same for every
    holder, minor or adult: the age is not always known, and nobody needs more. (A minor
    still waiting for a guardian's confirmation is not even this: `holder_waiting`.)"""
    words = (full_name or "").split()
    if not words:
        return "—"
    return " ".join([words[0], *(f"{w[0]}." for w in words[1:])])


def is_number(value: str) -> bool:
    """Well formed, new or legacy (normalised first)."""
    return bool(NUMBER_RE.match(value) or LEGACY_NUMBER_RE.match(value))


@dataclass
class IssueResult:
    new: int
    existing: int
    no_name: int


async def issue(session: AsyncSession, source: Source, actor: Any, now: datetime,
                tz: ZoneInfo) -> IssueResult:
    """Add a registry row for everyone eligible who has none yet (safe to run again)."""
    plan = await plan_issue(session, source, now, tz)
    rows = []
    for person, user in plan.new:
        rows.append(Certificate(
            issue_key=issue_key(source, person), template=person.template,
            source_type=source.kind, source_id=source.id, user_id=user.id,
            full_name=" ".join((user.full_name or "").split()),
            org_name=user.org_name, region_id=user.region_id,
            locale=user.locale if user.locale in LOCALES else "kk",
            details=person.details, issued_at=now, issued_by=getattr(actor, "id", None)))
    session.add_all(rows)
    await session.flush()
    year = now.astimezone(tz).year
    for row in rows:
        row.number = make_number(row.template, year)
    await session.flush()
    if rows:
        await log_activity(session, "certificates_issued", actor, source.kind, source.id,
                           {"new": len(rows), "existing": plan.existing,
                            "by_template": plan.by_template})
    return IssueResult(len(rows), plan.existing, plan.no_name)


# --- registry ------------------------------------------------------------------------

async def find(session: AsyncSession, number: str) -> Certificate | None:
    value = normalize_number(number)
    if not is_number(value):
        return None
    return await session.scalar(select(Certificate).where(Certificate.number == value))


async def holder_waiting(session: AsyncSession, cert: Certificate) -> bool:
    """True while the holder is a minor still waiting for a guardian's confirmation (only a
    certificate issued before the limit existed can belong to one): /verify then shows them
    as the staff exports do, by no name and no region (review M4 with L6)."""
    if cert.user_id is None:
        return False
    return bool(await session.scalar(select(User.limited).where(User.id == cert.user_id)))


async def revoke(session: AsyncSession, number: str, actor: Any, reason: str,
                 now: datetime) -> Certificate:
    cert = await find(session, number)
    if cert is None:
        raise DomainError("cert_unknown", number=normalize_number(number)[:40])
    if cert.revoked_at is not None:
        raise DomainError("cert_already_revoked", number=cert.number)
    cert.revoked_at, cert.revoked_by = now, getattr(actor, "id", None)
    cert.revoke_reason = strip_controls(reason).strip()[:500] or None
    # not sent yet: it never will be (a row a worker holds now is cancelled by make_document)
    await session.execute(
        update(Delivery).where(Delivery.source_type == SOURCE_TYPE,
                               Delivery.source_id == cert.id, Delivery.status == "queued")
        .values(status="cancelled", error=REVOKED))
    await log_activity(session, "certificate_revoked", actor, "certificate", cert.id)
    return cert


async def export_registry(session: AsyncSession, i18n: Translator, locale: str,
                          tz: ZoneInfo) -> bytes:
    from openpyxl import Workbook

    from bot.services import xlsx

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(i18n.t(locale, "Certificates")[:31])
    xlsx.append(ws, [i18n.t(locale, "Number"), i18n.t(locale, "Template"),
               i18n.t(locale, "Name"), i18n.t(locale, "Organisation"),
               i18n.t(locale, "Reason"), i18n.t(locale, "Source"),
               i18n.t(locale, "Language"), i18n.t(locale, "Issued at"),
               i18n.t(locale, "Sent to the queue at"), i18n.t(locale, "Revoked at"),
               i18n.t(locale, "Revocation reason")])
    waiting = i18n.t(locale, "waiting for a guardian's confirmation")
    last = 0
    while True:
        chunk = (await session.execute(
            select(Certificate, User.limited).outerjoin(User, User.id == Certificate.user_id)
            .where(Certificate.id > last).order_by(Certificate.id).limit(1000))).all()
        if not chunk:
            break
        for c, limited in chunk:
            # Only a certificate issued before the limit existed can belong to one.
            name, org = as_seen_by_others(limited, c.full_name, c.org_name, waiting)
            xlsx.append(ws, [c.number, template_label(i18n, locale, c.template), name,
                             org, reason_text(i18n, locale, c),
                             f"{c.source_type} {c.source_id or ''}".strip(), c.locale,
                             _local(c.issued_at, tz), _local(c.queued_at, tz),
                             _local(c.revoked_at, tz), c.revoke_reason or ""])
        last = chunk[-1][0].id
    return xlsx.to_bytes(wb)


def _local(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


# --- template settings ---------------------------------------------------------------

@dataclass
class TemplateSettings:
    template: str
    background: bytes | None = None
    signatories: dict[str, list[dict[str, str]]] = field(default_factory=dict)


async def get_settings(session: AsyncSession, template: str) -> TemplateSettings:
    row = await session.get(CertificateTemplate, template)
    if row is None:
        return TemplateSettings(template)
    return TemplateSettings(template, row.background, dict(row.signatories or {}))


async def _settings_row(session: AsyncSession, template: str, actor: Any) -> CertificateTemplate:
    if template not in TEMPLATES:
        raise DomainError("not_found")
    row = await session.get(CertificateTemplate, template)
    if row is None:
        row = CertificateTemplate(template=template, signatories={})
        session.add(row)
    row.updated_by = getattr(actor, "id", None)
    return row


def normalize_background(data: bytes) -> bytes:
    """Any picture → an RGB JPEG no larger than A4 at 150 dpi (keeps every PDF small).

    A big upload costs little more than its decoded picture, for a moment: a JPEG is
    decoded at a reduced size already, and the scaling goes a band of rows at a time.
    """
    from PIL import Image, UnidentifiedImageError

    out = io.BytesIO()
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width < 300 or img.height < 200:
                raise DomainError("cert_bad_image")
            img.draft("RGB", BACKGROUND_MAX)
            if img.mode in ("RGB", "L", "CMYK"):  # no palette, no transparency: scale first
                picture = _shrink(img, BACKGROUND_MAX)
                picture = picture if picture.mode == "RGB" else picture.convert("RGB")
            else:
                picture = _shrink(img.convert("RGB"), BACKGROUND_MAX)
            picture.save(out, "JPEG", quality=80, optimize=True)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DomainError("cert_bad_image") from exc
    return out.getvalue()


def _shrink(img: Any, limit: tuple[int, int], band: int = 128) -> Any:
    """`img` scaled down to fit `limit` (bicubic, like `thumbnail`), `band` rows at a time,
    so the full-size intermediate picture of a one-go resize is never made. Neighbouring
    bands read the same source rows around their edge: the result is seamless."""
    from PIL import Image

    width, height = img.size
    scale = min(limit[0] / width, limit[1] / height)
    if scale >= 1:
        return img
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    step = height / size[1]
    out = Image.new(img.mode, size)
    for top in range(0, size[1], band):
        bottom = min(top + band, size[1])
        out.paste(img.resize((size[0], bottom - top), Image.Resampling.BICUBIC,
                             box=(0, top * step, width, bottom * step)), (0, top))
    return out


async def set_background(session: AsyncSession, template: str, data: bytes | None,
                         actor: Any) -> None:
    """Store a new background (None restores the built-in frame)."""
    image = normalize_background(data) if data is not None else None
    row = await _settings_row(session, template, actor)
    row.background = image
    await log_activity(session, "certificate_template_changed", actor, "certificate_template",
                       None, {"template": template, "background": image is not None})


def parse_signatories(text: str) -> dict[str, list[dict[str, str]]]:
    """Lines `Title | Name` (up to 3); `[kk]`, `[ru]`, `[en]` start a language's own list,
    lines before any header go to every language."""
    result: dict[str, list[dict[str, str]]] = {}
    current = "*"
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        header = re.fullmatch(r"\[(kk|ru|en)\]", line.lower())
        if header:
            current = header.group(1)
            result.setdefault(current, [])
            continue
        if line.count("|") != 1:
            raise DomainError("cert_signatories_format")
        title, name = (" ".join(p.split()) for p in line.split("|"))
        if not title or len(title) > 120 or len(name) > 80:
            raise DomainError("cert_signatories_format")
        result.setdefault(current, []).append({"title": title, "name": name})
    if not any(result.values()) or any(len(v) > 3 for v in result.values()):
        raise DomainError("cert_signatories_format")
    return result


async def set_signatories(session: AsyncSession, template: str, text: str,
                          actor: Any) -> dict[str, list[dict[str, str]]]:
    parsed = parse_signatories(text)
    row = await _settings_row(session, template, actor)
    row.signatories = parsed
    await log_activity(session, "certificate_template_changed", actor, "certificate_template",
                       None, {"template": template, "signatories": True})
    return parsed


def signatories_for(i18n: Translator, settings: TemplateSettings,
                    locale: str) -> list[tuple[str, str]]:
    people = settings.signatories.get(locale) or settings.signatories.get("*")
    if not people:
        return [(i18n.t(locale, "Director"), "")]
    return [(p["title"], p["name"]) for p in people]


def signatories_text(settings: TemplateSettings) -> str:
    lines = []
    for key, people in settings.signatories.items():
        if key != "*":
            lines.append(f"[{key}]")
        lines.extend(f"{p['title']} | {p['name']}" for p in people)
    return "\n".join(lines)


# --- printed texts -------------------------------------------------------------------

def template_label(i18n: Translator, locale: str, template: str) -> str:
    if template == "winner":
        return i18n.t(locale, "Winner's diploma")
    if template == "participant":
        return i18n.t(locale, "Participant's certificate")
    if template == "webinar":
        return i18n.t(locale, "Webinar attendance certificate")
    return i18n.t(locale, "Series completion certificate")


def place_label(i18n: Translator, locale: str, place: str) -> str:
    if place == "grand_prix":
        return i18n.t(locale, "Grand Prix")
    if place == "diploma":
        return i18n.t(locale, "Laureate")
    return i18n.t(locale, "{place} place", place=_roman(place))


def _roman(place: str) -> str:
    return {"1": "I", "2": "II", "3": "III"}.get(place, place)


def _title(details: dict[str, Any], locale: str) -> str:
    titles = details.get("title") or {}
    return titles.get(locale) or titles.get("ru") or titles.get("kk") or ""


def reason_text(i18n: Translator, locale: str, cert: Certificate) -> str:
    """One line for /verify and the export: what the certificate was given for."""
    d = cert.details or {}
    parts = [template_label(i18n, locale, cert.template), f"«{_title(d, locale)}»"]
    if cert.template == "winner":
        parts.append(place_label(i18n, locale, d.get("place", "")))
        parts.extend(n.get(locale) or n.get("kk", "") for n in (d.get("nomination"),
                                                                 d.get("category")) if n)
    if cert.template == "series":
        parts.append(i18n.t(locale, "{attended} of {total} webinars",
                            attended=d.get("attended"), total=d.get("total")))
    return " · ".join(p for p in parts if p and p != "«»")


def _winner_body(i18n: Translator, locale: str, d: dict[str, Any]) -> list[str]:
    title, place = _title(d, locale), d.get("place")
    if place == "grand_prix":
        line = i18n.t(locale, "as the Grand Prix winner of the contest «{title}»",
                      title=title)
    elif place == "diploma":
        line = i18n.t(locale, "as a laureate of the contest «{title}»", title=title)
    else:
        line = i18n.t(locale, "for {place} place in the contest «{title}»",
                      place=_roman(str(place)), title=title)
    extra = []
    if d.get("nomination"):
        extra.append(i18n.t(locale, "Nomination: {name}",
                            name=d["nomination"].get(locale) or d["nomination"].get("kk", "")))
    if d.get("category"):
        extra.append(i18n.t(locale, "Age category: {name}",
                            name=d["category"].get(locale) or d["category"].get("kk", "")))
    return [line] + ([" · ".join(extra)] if extra else [])


def _participant_body(i18n: Translator, locale: str, d: dict[str, Any]) -> list[str]:
    title = _title(d, locale)
    if d.get("kind") == "action":
        return [i18n.t(locale, "took part in the action «{title}»", title=title)]
    if d.get("kind") == "challenge":
        return [i18n.t(locale, "took part in the challenge «{title}»", title=title)]
    return [i18n.t(locale, "took part in the contest «{title}»", title=title)]


def pdf_content(i18n: Translator, cert: Certificate, settings: TemplateSettings,
                bot_username: str, tz: ZoneInfo) -> PdfContent:
    from bot.services.pdf import PdfContent  # reportlab: loaded on first use

    locale, d = cert.locale if cert.locale in LOCALES else "kk", cert.details or {}
    if cert.template == "winner":
        title = i18n.t(locale, "DIPLOMA")
        lead = i18n.t(locale, "This diploma is awarded to")
        body = _winner_body(i18n, locale, d)
    else:
        title = i18n.t(locale, "CERTIFICATE")
        lead = i18n.t(locale, "This is to certify that")
        if cert.template == "participant":
            body = _participant_body(i18n, locale, d)
        elif cert.template == "webinar":
            body = [i18n.t(locale, "attended the webinar «{title}» on {date}",
                           title=_title(d, locale), date=d.get("date", ""))]
        elif d.get("title", {}).get(locale):
            body = [i18n.t(locale, "attended {attended} of {total} webinars of the series "
                                   "«{title}»", attended=d.get("attended"),
                           total=d.get("total"), title=_title(d, locale))]
        else:
            body = [i18n.t(locale, "attended {attended} of {total} webinars of the series",
                           attended=d.get("attended"), total=d.get("total"))]
    number = cert.number or "—"
    return PdfContent(
        centre=i18n.t(locale, "Republican Educational and Methodological Centre of "
                              "Additional Education"),
        title=title, lead=lead, name=cert.full_name, org=cert.org_name, body=body,
        number_label=i18n.t(locale, "No. {number}", number=number),
        date_label=i18n.t(locale, "Date of issue: {date}",
                          date=cert.issued_at.astimezone(tz).strftime("%d.%m.%Y")),
        verify_hint=i18n.t(locale, "Scan the QR code to check that it is genuine"),
        qr_url=verify_link(bot_username, number),
        signatories=signatories_for(i18n, settings, locale),
        background=settings.background)


def verify_link(bot_username: str, number: str) -> str:
    """The QR code's link: `bot_username` is the bot's username, or PUBLIC_BASE_URL when it
    is set (the public page, bot.web.verify; the caller passes whichever applies)."""
    if bot_username.startswith(("https://", "http://")):
        return f"{bot_username.rstrip('/')}/v/{number}"
    return f"https://t.me/{bot_username}?start=v_{number}"


def render(i18n: Translator, cert: Certificate, settings: TemplateSettings,
           bot_username: str, tz: ZoneInfo) -> bytes:
    from bot.services.pdf import render_certificate

    return render_certificate(pdf_content(i18n, cert, settings, bot_username, tz))


def sample_certificate(template: str, locale: str, now: datetime, name: str = "",
                       org: str | None = None, details: dict[str, Any] | None = None,
                       ) -> Certificate:
    """An unsaved certificate for previews (number SAMPLE)."""
    demo = {"kk": "Мектеп Парламенті", "ru": "Школьный парламент", "en": "School Parliament"}
    defaults: dict[str, Any] = {"title": demo, "kind": "contest", "place": "1",
                                "date": now.strftime("%d.%m.%Y"), "attended": 12, "total": 15}
    return Certificate(number="SAMPLE", template=template, source_type="preview",
                       full_name=name or "Әлия Құрманова", org_name=org, locale=locale,
                       details=details or defaults, issued_at=now)


def preview_for(source: Source, plan: Plan, now: datetime) -> Certificate | None:
    """The first new certificate of a plan, unsaved (number SAMPLE), for the staff preview."""
    if not plan.new:
        return None
    person, user = plan.new[0]
    return Certificate(number="SAMPLE", template=person.template, source_type=source.kind,
                       source_id=source.id, full_name=user.full_name or "", locale=user.locale,
                       org_name=user.org_name, details=person.details, issued_at=now)


# --- delivery ------------------------------------------------------------------------

async def enqueue_pending(session: AsyncSession, i18n: Translator, bot_username: str,
                          tz: ZoneInfo, now: datetime, limit: int = ENQUEUE_CHUNK) -> int:
    """Queue up to `limit` issued, not yet queued, not revoked certificates; returns how
    many deliveries were queued.

    Nothing is rendered here: the message names the document (`document_spec`) and the
    delivery worker renders it when it sends it.
    """
    return (await _enqueue_chunk(session, i18n, bot_username, tz, now, limit))[1]


async def _enqueue_chunk(session: AsyncSession, i18n: Translator, bot_username: str,
                         tz: ZoneInfo, now: datetime, limit: int) -> tuple[int, int]:
    """(registry rows taken, deliveries queued): a person without a chat is taken (marked
    queued) but gets no delivery. One of a minor still waiting for a guardian's confirmation
    (issued before the limit existed) waits, untaken, until the guardian confirms."""
    rows = (await session.execute(
        select(Certificate, User.chat_id)
        .join(User, User.id == Certificate.user_id, isouter=True)
        .where(Certificate.queued_at.is_(None), Certificate.revoked_at.is_(None),
               Certificate.number.is_not(None), User.limited.is_not(True))
        .order_by(Certificate.id).limit(limit))).all()
    if not rows:
        return 0, 0
    settings = {t: await get_settings(session, t) for t in {c.template for c, _ in rows}}
    sendable = [(c, chat) for c, chat in rows if chat]
    for cert, chat_id in sendable:
        caption = i18n.t(cert.locale, "🎓 Your certificate No. {number}. Anyone can "
                                      "check it with /verify {number}", number=cert.number)
        message = OutgoingMessage(
            kind="document", text=caption, html=True, filename=f"{cert.number}.pdf",
            document=document_spec(i18n, cert, settings[cert.template], bot_username, tz))
        await enqueue(session, SOURCE_TYPE, cert.id, [Recipient(cert.user_id, chat_id)],
                      {"default": message})
    await session.execute(update(Certificate)
                          .where(Certificate.id.in_([c.id for c, _ in rows]))
                          .values(queued_at=now))
    return len(rows), len(sendable)


def document_spec(i18n: Translator, cert: Certificate, settings: TemplateSettings,
                  bot_username: str, tz: ZoneInfo) -> dict[str, Any]:
    """What `make_document` needs to render this certificate: the printed texts, already
    translated, without the name and organisation (read from the registry row when it is
    sent, so the queue keeps nothing personal) and with the background by its digest (the
    picture itself stays in certificate_templates)."""
    from bot.services.pdf import background_digest, background_file

    content = dataclasses.asdict(pdf_content(i18n, cert, settings, bot_username, tz))
    for personal_or_big in ("name", "org", "background"):
        content.pop(personal_or_big)
    digest = None
    if settings.background:
        background_file(settings.background)  # written once; the renderer reads the file
        digest = background_digest(settings.background)
    return {"maker": "certificate", "id": cert.id, "template": cert.template,
            "background": digest, "content": content}


async def make_document(sessionmaker: async_sessionmaker, spec: dict[str, Any]) -> bytes:
    """The PDF of a queued certificate (bot.delivery.DOCUMENT_MAKERS["certificate"])."""
    from bot.services.pdf import PdfContent, background_file, background_path, render_certificate

    background: str | None = None
    async with sessionmaker() as session:
        row = (await session.execute(
            select(Certificate.full_name, Certificate.org_name, Certificate.revoked_at)
            .where(Certificate.id == spec["id"]))).one_or_none()
        if row is None:
            raise LookupError(f"certificate {spec['id']} is not in the registry")
        if row.revoked_at is not None:  # revoked after it was queued: not sent at all
            raise DocumentWithdrawn(REVOKED)
        if spec.get("background"):
            background = background_path(spec["background"])
            if background is None:  # another machine, or the cache was cleaned
                picture = await session.scalar(
                    select(CertificateTemplate.background)
                    .where(CertificateTemplate.template == spec["template"]))
                background = background_file(picture) if picture else None
    content = dict(spec["content"])
    content["signatories"] = [tuple(p) for p in content.get("signatories") or []]
    page = PdfContent(**content, name=row.full_name, org=row.org_name, background=background)
    return await asyncio.to_thread(render_certificate, page)


async def in_flight(session: AsyncSession) -> int:
    return await session.scalar(
        select(func.count()).select_from(Delivery)
        .where(Delivery.source_type == SOURCE_TYPE,
               Delivery.status.in_(("queued", "sending")))) or 0


async def compact_sent(session: AsyncSession, limit: int = 500) -> int:
    """Drop the PDF bytes of certificate messages already delivered (or undeliverable).

    Only messages queued before PDFs were rendered at send time carry the bytes. Loaded a
    few at a time: each such body holds a whole PDF.
    """
    payload_ids = list(await session.scalars(
        select(Delivery.payload_id)
        .join(OutboxPayload, OutboxPayload.id == Delivery.payload_id)
        .where(Delivery.source_type == SOURCE_TYPE, Delivery.status.in_(("sent", "blocked")),
               OutboxPayload.body["document_bytes_b64"].as_string().is_not(None))
        .limit(limit)))
    for start in range(0, len(payload_ids), COMPACT_CHUNK):
        chunk = payload_ids[start:start + COMPACT_CHUNK]
        for payload in await session.scalars(
                select(OutboxPayload).where(OutboxPayload.id.in_(chunk))):
            payload.body = {**payload.body, "document_bytes_b64": None}
        await session.flush()
    return len(payload_ids)


def queue_target(rate: float | None) -> int:
    """How many certificates to keep in the delivery queue at `rate` messages a second:
    QUEUE_SECONDS of sending, so it still has work when the next tick comes (queueing is
    cheap: ~2 KB of texts each, nothing rendered), within QUEUE_MIN..QUEUE_MAX."""
    if not rate:  # unpaced
        return QUEUE_MAX
    return max(QUEUE_MIN, min(QUEUE_MAX, math.ceil(rate * QUEUE_SECONDS)))


async def pump(session: AsyncSession, i18n: Translator, bot_username: str, tz: ZoneInfo,
               now: datetime, target: int) -> int:
    """One step of paced sending: top the queue up to `target` certificates waiting or
    being sent (see `queue_target`), tidy sent ones. Returns how many were queued."""
    await compact_sent(session)
    room = target - await in_flight(session)
    queued = 0
    while room > 0:
        taken, added = await _enqueue_chunk(session, i18n, bot_username, tz, now,
                                            min(room, ENQUEUE_CHUNK))
        if not taken:
            break
        queued += added
        room -= added
    return queued


async def tick(sessionmaker: async_sessionmaker, i18n: Translator, bot_username: str,
               tz: ZoneInfo, now: datetime, rate: float | None) -> None:
    """One round of the scheduler's certificates tick (bot.scheduler.certificates_tick):
    keep certificates flowing into the queue at `rate` messages a second."""
    async with sessionmaker() as session:
        queued = await pump(session, i18n, bot_username, tz, now, queue_target(rate))
        await session.commit()
    if queued:
        logger.info("queued %s certificates", queued)
