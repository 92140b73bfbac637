"""The generated documents as pictures (issue 17): one command, unattended.

    .venv/bin/python docs/stop-evidence/render.py [--out docs/stop-evidence] [--keep DIR]

Builds a year on a scratch database with the project's own code: `seed_demo` (people in every
region, factions, organisation types, challenges, webinars, a year of activity), then a contest
with nominations, age categories, a jury and places, webinars with speakers and attendance,
coordinators' weekly offline reports (bot.services.weekly) and a winner's diploma revoked and
re-issued with the name corrected. The files then come from the bot itself, through the
Dispatcher, as a staff member receives them: /report 2026 (kk and ru), /export_stats 2026,
/export_challenge N, and the corrected diploma as the holder is sent it.

LibreOffice turns the DOCX and XLSX into PDF (each sheet on one page, as on screen), pdftoppm
the chosen pages into small PNGs in --out. Needs `soffice` and `pdftoppm`
(apt-get install libreoffice-writer libreoffice-calc poppler-utils fonts-liberation2).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, update  # noqa: E402

from bot.services import certificates as certs  # noqa: E402
from bot.services import weekly  # noqa: E402
from bot.services.demo import seed_demo  # noqa: E402
from db.models import ActivityLog, User  # noqa: E402
from db.models.challenges import (  # noqa: E402
    Challenge,
    ChallengeOption,
    ChallengeParticipant,
    JuryScore,
    Submission,
)
from db.models.webinars import Webinar, WebinarRegistration  # noqa: E402
from tests.harness import Clock, make_harness  # noqa: E402

YEAR = 2026
NOW = datetime(YEAR, 12, 1, 6, 0, tzinfo=UTC)  # fixed: the same pictures on every run
STAFF = 900
SEED = 17
FIRST = ("Әлия", "Ерлан", "Дана", "Нұрлан", "Айгерім", "Мирас", "Жансая", "Тимур", "Аружан",
         "Бекзат", "Ольга", "Дмитрий", "Камила", "Санжар", "Томирис", "Ілияс")
LAST = ("Құрманова", "Сейітов", "Оспанова", "Әбенов", "Жұмабаева", "Қасымов", "Ким",
        "Нұрланова", "Ермеков", "Сәрсенова", "Петрова", "Төлеген", "Байжанова", "Ахметов")
NOMINATIONS = (("Бейнеролик", "Видеоролик", "Video"),
               ("Эссе", "Эссе", "Essay"),
               ("Фотожоба", "Фотопроект", "Photo project"))
CATEGORIES = (("12–14 жас", "12–14 лет", "12–14 years"),
              ("15–17 жас", "15–17 лет", "15–17 years"))
CRITERIA = [{"kk": "Тақырыпқа сәйкестігі", "ru": "Соответствие теме", "en": "Relevance"},
            {"kk": "Шығармашылық", "ru": "Творческий подход", "en": "Creativity"},
            {"kk": "Безендіру сапасы", "ru": "Качество оформления", "en": "Design"}]
WEBINARS = (("Мектеп парламентінің жылдық жоспары", "Годовой план школьного парламента",
             "A school parliament's year plan"),
            ("Еріктілер қозғалысы: жобадан нәтижеге дейін",
             "Волонтёрское движение: от проекта к результату", "Volunteering: project to result"),
            ("Құқықтық мәдениет және жасөспірімдер", "Правовая культура и подростки",
             "Legal culture and teenagers"),
            ("Студенттік өзін-өзі басқарудың үздік тәжірибесі",
             "Лучшие практики студенческого самоуправления", "Best practice of student "
             "self-government"))
SPEAKERS = ("Айгүл Сәрсенова", "Ерлан Қасымов", "Дина Жұмабаева", "Ольга Ким",
            "Мәди Өтегенов", "Сәуле Әбдірахманова")


def name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def at_in_year(rng: random.Random, start: date, end: date) -> datetime:
    span = (end - start).days
    return datetime.combine(start, datetime.min.time(), UTC) + timedelta(
        days=rng.randrange(span), hours=rng.randrange(4, 13))


def log(kind: str, user: User, at: datetime, ref_type: str, ref_id: int) -> dict:
    return {"user_id": user.id, "kind": kind, "at": at, "role": user.role,
            "region_id": user.region_id, "district_id": user.district_id,
            "org_type": user.org_type, "ref_type": ref_type, "ref_id": ref_id, "extra": None}


# ---------------------------------------------------------------- the year


async def people(s, rng: random.Random) -> tuple[list[User], list[User]]:
    """Names for everyone (the seed leaves students nameless); the students and coordinators."""
    users = (await s.scalars(select(User).where(User.status == "active"))).all()
    for u in users:
        if u.role != "staff":
            u.full_name = name(rng)
    await s.flush()
    return ([u for u in users if u.role == "student"],
            [u for u in users if u.role == "coordinator"])


async def contest(s, rng: random.Random, students: list[User], jurors: list[User],
                  staff: User) -> int:
    """«Шексіз шығармашылық»: three nominations, two age categories, a jury of three (quorum
    2), entries reviewed with reasons, places by nomination."""
    starts = datetime(YEAR, 3, 2, 4, tzinfo=UTC)
    c = Challenge(kind="contest", status="judged", title_kk="Шексіз шығармашылық",
                  title_ru="Безграничное творчество", title_en="Boundless creativity",
                  description_kk="…", description_ru="…", starts_at=starts,
                  deadline_at=starts + timedelta(days=40), published_at=starts,
                  jury_criteria=CRITERIA, jury_quorum=2, content_kinds=["photo", "video", "text"],
                  audience={}, created_by=staff.id)
    s.add(c)
    await s.flush()
    noms, cats = [], []
    for kind, names, into in (("nomination", NOMINATIONS, noms), ("category", CATEGORIES, cats)):
        for i, (kk, ru, en) in enumerate(names):
            o = ChallengeOption(challenge_id=c.id, kind=kind, sort=i, name_kk=kk, name_ru=ru,
                                name_en=en)
            s.add(o)
            into.append(o)
    await s.flush()
    logs = []
    entrants = rng.sample(students, min(90, len(students)))
    for n, u in enumerate(entrants):
        at = starts + timedelta(days=rng.randrange(38), hours=rng.randrange(10))
        s.add(ChallengeParticipant(challenge_id=c.id, user_id=u.id, joined_at=at))
        status = rng.choices(("approved", "rejected", "pending"), (70, 18, 12))[0]
        sub = Submission(
            challenge_id=c.id, user_id=u.id, status=status, content_kind="text",
            text="https://example.org/entry", region_id=u.region_id, district_id=u.district_id,
            org_name=u.org_name, submitted_at=at + timedelta(hours=2),
            nomination_id=noms[n % 3].id if n % 17 else None, category_id=rng.choice(cats).id,
            reviewed_by=staff.id if status != "pending" else None,
            reviewed_at=at + timedelta(days=3) if status != "pending" else None,
            reject_reason=rng.choice(("Тақырыпқа сай емес", "Файл ашылмайды",
                                      "Авторлық құқық бұзылған"))
            if status == "rejected" else None)
        s.add(sub)
        await s.flush()
        logs += [log("challenge_join", u, at, "challenge", c.id),
                 log("submission", u, at + timedelta(hours=2), "challenge", c.id)]
        if status == "approved":
            await jury_scores(s, rng, sub, jurors)
    await s.execute(insert(ActivityLog), logs)
    await places(s, c.id, starts + timedelta(days=60))
    return c.id


async def jury_scores(s, rng: random.Random, sub: Submission, jurors: list[User]) -> None:
    """Each approved entry scored by two or three jurors (a few by one: short of the quorum)."""
    panel = jurors[:rng.choice((1, 2, 3, 3, 3))]
    for juror in panel:
        for criterion in range(len(CRITERIA)):
            s.add(JuryScore(submission_id=sub.id, juror_id=juror.id, criterion=criterion,
                            score=rng.randint(4, 10)))


async def places(s, challenge_id: int, at: datetime) -> None:
    """The best approved entries of each nomination get 1st–3rd place and diplomas, as the
    centre would set them from the jury's ranking (and log the wins)."""
    from bot.services import jury

    ranked = await jury.rankings(s, challenge_id)
    logs = []
    for rows in ranked.values():
        for r in [r for r in rows if r.quorum][:5]:
            place = {1: "1", 2: "2", 3: "3"}.get(r.rank, "diploma")
            sub = await s.get(Submission, r.submission_id)
            sub.place = place
            logs.append(log("winner", await s.get(User, sub.user_id), at, "challenge",
                            challenge_id))
    await s.execute(insert(ActivityLog), logs)


async def webinars(s, rng: random.Random, students: list[User], coordinators: list[User],
                   ) -> None:
    """A webinar a month with speakers, registrations and attendance; one cancelled."""
    logs = []
    for month in range(1, 12):
        kk, ru, en = WEBINARS[month % len(WEBINARS)]
        starts = datetime(YEAR, month, 14, 5, tzinfo=UTC)
        w = Webinar(title_kk=kk, title_ru=ru, title_en=en, description_kk="…",
                    description_ru="…", starts_at=starts, duration_min=90,
                    join_url="https://example.org/webinar",
                    speakers=rng.sample(SPEAKERS, rng.randint(1, 3)), audience={},
                    status="cancelled" if month == 8 else "published")
        s.add(w)
        await s.flush()
        if w.status == "cancelled":
            continue
        crowd = rng.sample(students, 40) + rng.sample(coordinators, min(8, len(coordinators)))
        for u in crowd:
            came = rng.random() < 0.7
            s.add(WebinarRegistration(webinar_id=w.id, user_id=u.id, status="registered",
                                      registered_at=starts - timedelta(days=3),
                                      attended_at=starts if came else None))
            logs.append(log("webinar_register", u, starts - timedelta(days=3), "webinar", w.id))
            if came:
                logs.append(log("webinar_attend", u, starts, "webinar", w.id))
    await s.execute(insert(ActivityLog), logs)


async def weekly_reports(s, rng: random.Random, coordinators: list[User]) -> None:
    """Most coordinators file their offline week now and then through the year."""
    mondays = [date(YEAR, 1, 5) + timedelta(weeks=k) for k in range(47)]
    for u in coordinators[: int(len(coordinators) * 0.8)]:
        for week in sorted(rng.sample(mondays, rng.randint(3, 15))):
            await weekly.file_report(s, u.id, week, rng.randint(0, 6), rng.randint(0, 400),
                                     rng.choice((None, None, "Сенбілік өтті",
                                                 "Ата-аналармен кездесу")))


async def build_year(h) -> tuple[int, int]:
    """The whole year; (contest id, the tg id of the diploma's holder)."""
    rng = random.Random(SEED)
    await seed_demo(h.app.sessionmaker, users=2500, events=40_000, seed=SEED, now=NOW)
    async with h.app.sessionmaker() as s:
        s.add(User(tg_id=STAFF, chat_id=STAFF, role="staff", status="active", locale="kk",
                   full_name="Айгерім Сапарова", consent_at=NOW, consent_version="demo"))
        await s.flush()
        staff = await s.scalar(select(User).where(User.tg_id == STAFF))
        students, coordinators = await people(s, rng)
        await webinars(s, rng, students, coordinators)
        active = [c for c in coordinators if c.status == "active"]
        cid = await contest(s, rng, students, active[:3], staff)
        await weekly_reports(s, rng, active)
        for template in certs.TEMPLATES:
            await certs.set_signatories(s, template, "Директор | Р. Шер\n"
                                        "Әдістемелік бөлім басшысы | Г. Әлімова", staff)
        holder = await s.scalar(select(User).join(Submission, Submission.user_id == User.id)
                                .where(Submission.challenge_id == cid, Submission.place == "1",
                                       Submission.nomination_id.is_not(None))
                                .order_by(Submission.id).limit(1))
        holder.locale = "kk"  # the diploma is printed in the holder's language
        await certs.issue(s, certs.Source("challenge", cid), staff, NOW, h.app.settings.tz)
        await s.commit()
        return cid, holder.tg_id


# ---------------------------------------------------------------- the files, as sent


async def as_staff(h, lang: str, command: str) -> bytes:
    async with h.app.sessionmaker() as s:
        await s.execute(update(User).where(User.tg_id == STAFF).values(locale=lang))
        await s.commit()
    h.app.users.forget(STAFF)
    await h.user(STAFF).send(command)
    call = h.api.last(STAFF)
    assert call.method == "sendDocument", (command, call.text)
    return call.files["document"]


async def corrected_diploma(h, holder_tg: int) -> bytes:
    """Staff revoke the diploma (the name was misspelt), fix the name, re-issue; the holder
    is sent the new file."""
    from db.models import Certificate

    async with h.app.sessionmaker() as s:
        cert = await s.scalar(select(Certificate).join(User, User.id == Certificate.user_id)
                              .where(User.tg_id == holder_tg))
        await s.execute(update(User).where(User.id == cert.user_id)
                        .values(full_name="Әлия-Гүлназ Құрманғазықызы", locale="kk"))
        await s.commit()
    h.app.users.forget(holder_tg)
    staff = h.user(STAFF)
    await staff.send(f"/certificates revoke {cert.number} аты-жөні қате жазылған")
    await staff.send(f"/certificates reissue {cert.number}")
    await h.drain()
    call = h.api.of("sendDocument", holder_tg)[-1]
    return call.files["document"]


async def produce(work: Path) -> dict[str, Path]:
    h = await make_harness(str(work / "year.db"), Clock(NOW), staff_ids=frozenset({STAFF}),
                           flood_limit=100_000, data_dir=str(work / "data"))
    try:
        cid, holder = await build_year(h)
        files = {
            "report-kk.docx": await as_staff(h, "kk", f"/report {YEAR}"),
            "report-ru.docx": await as_staff(h, "ru", f"/report {YEAR}"),
            "stats-ru.xlsx": await as_staff(h, "ru", f"/export_stats {YEAR}"),
            "stats-kk.xlsx": await as_staff(h, "kk", f"/export_stats {YEAR}"),
            "contest-kk.xlsx": await as_staff(h, "kk", f"/export_challenge {cid}"),
            "certificate-corrected.pdf": await corrected_diploma(h, holder),
        }
    finally:
        await h.close()
    out = {}
    for filename, data in files.items():
        (work / filename).write_bytes(data)
        out[filename] = work / filename
    return out


# ---------------------------------------------------------------- pictures

ONE_PAGE_PER_SHEET = 'pdf:calc_pdf_Export:' + json.dumps(
    {"SinglePageSheets": {"type": "boolean", "value": "true"}})


def to_pdf(files: list[Path], work: Path, sheets: bool) -> None:
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{work}/lo",
                    "--convert-to", ONE_PAGE_PER_SHEET if sheets else "pdf",
                    "--outdir", str(work), *map(str, files)],
                   check=True, capture_output=True, timeout=180)


def page_texts(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    return text.split("\f")


def page_with(pdf: Path, *needles: str) -> int:
    """The first page (from 1) that has every needle."""
    for n, text in enumerate(page_texts(pdf), start=1):
        flat = " ".join(text.split()).casefold()
        if all(x.casefold() in flat for x in needles):
            return n
    raise LookupError(f"{pdf.name}: no page with {needles}")


def png(pdf: Path, page: int, target: Path, dpi: int = 70, longest: int | None = None,
        top: int | None = None) -> None:
    """One page; `top`: only its first `top` pixels (a sheet of hundreds of rows)."""
    args = ["pdftoppm", "-png", "-f", str(page), "-l", str(page), "-singlefile"]
    args += ["-scale-to", str(longest)] if longest else ["-r", str(dpi)]
    subprocess.run([*args, str(pdf), str(target.with_suffix(""))], check=True)
    from PIL import Image

    with Image.open(target) as im:
        picture = im.convert("RGB")
    if top:
        picture = picture.crop((0, 0, picture.width, min(top, picture.height)))
    picture.quantize(colors=64).save(target, optimize=True)  # a third of the bytes, as legible


def pictures(work: Path, out: Path, files: dict[str, Path]) -> list[str]:
    docs = [files[f] for f in files if f.endswith((".docx", ".pdf"))
            and not f.startswith("certificate")]
    to_pdf(docs, work, sheets=False)
    to_pdf([files[f] for f in files if f.endswith(".xlsx")], work, sheets=True)
    made, seen = [], set()

    def shot(pdf: str, page: int, name: str, **kw) -> None:
        if (pdf, page) in seen:  # the offline table on the nominations' page: one picture
            return
        seen.add((pdf, page))
        png(work / pdf, page, out / name, **kw)
        made.append(name)

    for lang, nominations, offline in (
            ("kk", "номинациялар бойынша", "Офлайн"), ("ru", "по номинациям", "Офлайн")):
        pdf = work / f"report-{lang}.pdf"
        shot(pdf.name, 1, f"report-{lang}-p1.png")
        shot(pdf.name, page_with(pdf, nominations), f"report-{lang}-nominations.png")
        shot(pdf.name, page_with(pdf, offline), f"report-{lang}-offline.png")
    sheets = {1: "summary", 2: "regions", 4: "challenges", 5: "webinars", 7: "weekly"}
    for lang in ("kk", "ru"):
        for n, sheet in sheets.items():  # the page of a sheet is its number
            shot(f"stats-{lang}.pdf", n, f"stats-{lang}-{sheet}.png", dpi=60, top=560)
    shot("contest-kk.pdf", 1, "contest-kk-entries.png", dpi=60, top=420)
    shot("contest-kk.pdf", 2, "contest-kk-jury-scores.png", dpi=60, top=420)
    shutil.copy(files["certificate-corrected.pdf"], work / "cert.pdf")
    shot("cert.pdf", 1, "certificate-corrected.png", dpi=80)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "stop-evidence"))
    parser.add_argument("--keep", help="also keep the DOCX, XLSX and PDF files in this folder")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="evidence-") as tmp:
        work = Path(tmp)
        files = asyncio.run(produce(work))
        print(f"files built in {time.monotonic() - started:.0f} s")
        made = pictures(work, out, files)
        if args.keep:
            keep = Path(args.keep)
            keep.mkdir(parents=True, exist_ok=True)
            for f in work.iterdir():
                if f.suffix in (".docx", ".xlsx", ".pdf"):
                    shutil.copy(f, keep / f.name)
    print(f"{len(made)} pictures in {out} ({time.monotonic() - started:.0f} s):")
    for name_ in made:
        print("  " + name_)


if __name__ == "__main__":
    main()
