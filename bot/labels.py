"""Localized names of the movement's fixed vocabularies (glossary terms)."""

from __future__ import annotations

from bot.translator import lazy as __

ROLE = {
    "student": __("Parliament member (student)"),
    "coordinator": __("Coordinator"),
    "staff": __("Centre staff"),
}
LEVEL = {"regional": __("Regional level"), "district": __("District (city) level")}
ORG_TYPE = {"school": __("School"), "college": __("College"), "university": __("University")}
FACTION = {
    "self_knowledge": __("Self-knowledge"),
    "happiness": __("Happiness"),
    "law_order": __("Law and order"),
    "care": __("Care (volunteering)"),
}
POSITION = {
    "president": __("Parliament president"),
    "leader": __("Faction leader"),
    "member": __("Faction member (deputy)"),
}
STATUS = {
    "active": __("active"),
    "pending": __("waiting for approval"),
    "rejected": __("rejected"),
}


def label(table: dict[str, object], key: str | None) -> str:
    return str(table[key]) if key in table else "—"

AGE_BAND = {
    "u14": __("Under 14"),
    "14_15": __("14–15"),
    "16_17": __("16–17"),
    "18plus": __("18 or older"),
}

# How a minor waiting for a guardian's confirmation appears to staff and coordinators, in
# place of the name (bot.services.guardian.as_seen_by_others).
WAITING_FOR_GUARDIAN = __("waiting for a guardian's confirmation")
