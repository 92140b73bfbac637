"""Webinars: the rules for creating, registering, attending, moving, cancelling and reminding.

Channel-agnostic (no aiogram). Times are aware UTC; `now` is always passed in so tests and the
scheduler control time. Domain errors carry codes that handlers/shared/texts.py turns into text.

One module per part, all used through this package (`from bot.services import webinars`):
parsing (what staff type), audience (who a webinar is for), rules (the webinar's life and
its registrations), registrations (lists, counts, the export, a person's own), reminders.
"""

from __future__ import annotations

from bot.services.webinars.audience import (
    AUDIENCE_KEYS,
    Member,
    audience_contacts,
    audience_matches,
    clean_audience,
)
from bot.services.webinars.parsing import (
    CAPACITY_RANGE,
    DESCRIPTION_LEN,
    DURATION_MIN,
    MAX_AHEAD,
    MAX_OFFSET,
    MAX_SPEAKERS,
    TITLE_LEN,
    check_text,
    parse_capacity,
    parse_duration,
    parse_local_datetime,
    parse_offsets,
    parse_speakers,
    parse_url,
)
from bot.services.webinars.registrations import (
    RegistrantStats,
    my_webinars,
    registrant_contacts,
    registrant_ids_select,
    registrant_stats,
    registrants,
    registrants_xlsx,
    webinar_registrant_ids,
)
from bot.services.webinars.reminders import (
    LATE_GRACE,
    ClaimedReminder,
    claim_reminder,
    due_reminder_ids,
    plan_reminders,
    reminder_dedup,
)
from bot.services.webinars.rules import (
    ATTEND_AFTER,
    ATTEND_BEFORE,
    DEFAULT_OFFSETS,
    REMINDER_SOURCE,
    attend,
    cancel_webinar,
    change_time,
    create_webinar,
    ends_at,
    get_webinar,
    in_window,
    register,
    registered_count,
    registration_of,
    unregister,
    upcoming,
    update_field,
    window,
)

__all__ = [
    "ATTEND_AFTER", "ATTEND_BEFORE", "AUDIENCE_KEYS", "CAPACITY_RANGE", "DEFAULT_OFFSETS",
    "DESCRIPTION_LEN", "DURATION_MIN", "LATE_GRACE", "MAX_AHEAD", "MAX_OFFSET", "MAX_SPEAKERS",
    "REMINDER_SOURCE", "TITLE_LEN", "ClaimedReminder", "Member", "RegistrantStats", "attend",
    "audience_contacts", "audience_matches", "cancel_webinar", "change_time", "check_text",
    "claim_reminder", "clean_audience", "create_webinar", "due_reminder_ids", "ends_at",
    "get_webinar", "in_window", "my_webinars", "parse_capacity", "parse_duration",
    "parse_local_datetime", "parse_offsets", "parse_speakers", "parse_url", "plan_reminders",
    "register", "registered_count", "registrant_contacts", "registrant_ids_select",
    "registrant_stats", "registrants", "registrants_xlsx", "registration_of", "reminder_dedup",
    "unregister", "upcoming", "update_field", "webinar_registrant_ids", "window",
]
