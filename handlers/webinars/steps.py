"""The steps of the /newwebinar wizard and of editing a field: their states, their order,
what "Skip" stores, and reading an answer into the flow's data."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from aiogram.fsm.state import State, StatesGroup

from bot.services import webinars as svc
from bot.services.errors import DomainError
from bot.services.numbers import as_int
from db.models import Webinar


class NewWebinarSG(StatesGroup):
    title_kk = State()
    title_ru = State()
    title_en = State()
    description_kk = State()
    description_ru = State()
    description_en = State()
    starts_at = State()
    duration = State()
    join_url = State()
    speakers = State()
    audience = State()
    capacity = State()
    offsets = State()
    preview = State()


class EditWebinarSG(StatesGroup):
    value = State()


ORDER = ("title_kk", "title_ru", "title_en", "description_kk", "description_ru",
         "description_en", "starts_at", "duration", "join_url", "speakers", "audience",
         "capacity", "offsets", "preview")
TEXT_STATES = [getattr(NewWebinarSG, s) for s in ORDER if s not in ("audience", "preview")]
SKIP_VALUES: dict[str, dict[str, Any]] = {
    "title_en": {"title_en": None},
    "description_en": {"description_en": None},
    "speakers": {"speakers": []},
    "capacity": {"capacity": None},
    "offsets": {"reminder_offsets": list(svc.DEFAULT_OFFSETS)},
}


def next_step(step: str) -> str:
    return ORDER[ORDER.index(step) + 1]


def parse_step(step: str, text: str | None, tz: tzinfo, now: datetime) -> dict[str, Any]:
    """One wizard (or edit) answer → FSM data; raises DomainError with a reason."""
    if step.startswith("title_"):
        return {step: svc.check_text(text, "wb_title", svc.TITLE_LEN)}
    if step.startswith("description_"):
        return {step: svc.check_text(text, "wb_description", svc.DESCRIPTION_LEN)}
    if step == "starts_at":
        moment = svc.parse_local_datetime(text, tz, now)
        return {"starts_at": moment.isoformat()}
    if step == "duration":
        return {"duration_min": svc.parse_duration(text)}
    if step == "join_url":
        return {"join_url": svc.parse_url(text)}
    if step == "speakers":
        return {"speakers": svc.parse_speakers(text)}
    if step == "capacity":
        return {"capacity": svc.parse_capacity(text)}
    if step == "offsets":
        return {"reminder_offsets": svc.parse_offsets(text)}
    raise DomainError("bad_field")


def draft(data: dict[str, Any]) -> Webinar:
    """The webinar the wizard's answers describe (not stored)."""
    audience = {k: ([n for x in v if (n := as_int(str(x))) is not None] if k == "regions"
                    else list(v))
                for k, v in svc.clean_audience(data.get("audience")).items()}
    return Webinar(
        id=None, title_kk=data["title_kk"], title_ru=data["title_ru"],
        title_en=data.get("title_en"), description_kk=data["description_kk"],
        description_ru=data["description_ru"], description_en=data.get("description_en"),
        starts_at=datetime.fromisoformat(data["starts_at"]),
        duration_min=data["duration_min"], join_url=data["join_url"],
        speakers=data.get("speakers") or [], audience=audience,
        capacity=data.get("capacity"),
        reminder_offsets=data.get("reminder_offsets") or list(svc.DEFAULT_OFFSETS),
        status="published", sequence=0)
