"""Who may use what: the one table of access rules for every command and every callback.

A command or callback prefix missing from these tables is refused for everyone, so a new
feature cannot forget to declare its rule (tests/test_access.py walks the whole table).
"""

from __future__ import annotations

from bot.services.users import COORDINATOR, GUEST, PENDING, STAFF, STUDENT

EVERYONE = frozenset({GUEST, STUDENT, PENDING, COORDINATOR, STAFF})
REGISTERED = frozenset({STUDENT, PENDING, COORDINATOR, STAFF})
MEMBERS = frozenset({STUDENT, COORDINATOR, STAFF})
LEADERS = frozenset({COORDINATOR, STAFF})
STAFF_ONLY = frozenset({STAFF})
COORDINATORS = frozenset({COORDINATOR})  # approved (pending ones have the PENDING role)

COMMAND_ROLES: dict[str, frozenset[str]] = {
    # foundation
    "start": EVERYONE,
    "help": EVERYONE,
    "cancel": EVERYONE,
    "language": EVERYONE,
    "verify": EVERYONE,
    "profile": REGISTERED,
    "deleteme": REGISTERED,
    "link": EVERYONE,  # the second messenger's chat is a guest's until the code is typed
    "unlink": REGISTERED,
    "mydata": REGISTERED,
    "joinlink": LEADERS,
    "invite": STAFF_ONLY,
    "pending": LEADERS,  # staff: every request; a regional coordinator: her region's
    "promote": STAFF_ONLY,
    "demote": STAFF_ONLY,
    "import_districts": STAFF_ONLY,
    "orgs": STAFF_ONLY,  # find organisations, merge duplicates (bot.services.organisations)
    # broadcasts
    "broadcast": LEADERS,
    "broadcasts": LEADERS,
    # challenges
    "challenges": MEMBERS,
    "my": MEMBERS,
    "newchallenge": STAFF_ONLY,
    "review": LEADERS,
    "jury": STAFF_ONLY,
    "judge": MEMBERS,  # a juror's contests (jurors are members of any role)
    "export_challenge": STAFF_ONLY,
    # webinars
    "webinars": MEMBERS,
    "newwebinar": STAFF_ONLY,
    "export_webinar": STAFF_ONLY,
    # statistics
    "stats": LEADERS,
    "export_stats": LEADERS,
    "report": STAFF_ONLY,
    "leaderboard": MEMBERS,
    "digest": STAFF_ONLY,
    "week": COORDINATORS,  # the weekly report of one's area (bot.services.weekly)
    # certificates
    "certificates": STAFF_ONLY,
    # WhatsApp
    "wa_templates": STAFF_ONLY,
}

# Callback data prefix (CallbackData factory prefix) -> roles.
CALLBACK_ROLES: dict[str, frozenset[str]] = {
    "lang": EVERYONE,
    "reg": EVERYONE,
    "grd": EVERYONE,  # the guardian is usually not registered
    "grn": EVERYONE,  # the guardian declines (bot.services.guardian.decline_guardian)
    "pg": EVERYONE,
    "og": EVERYONE,  # the organisation picker, during registration too (handlers check the state)
    "oga": STAFF_ONLY,
    "cfm": EVERYONE,  # consent happens before registration; handlers check the state
    "prof": REGISTERED,
    "appr": LEADERS,  # who decides which request: bot.services.approvals
    "bc": LEADERS,
    "bca": MEMBERS,
    "bcf": LEADERS,
    "crt": STAFF_ONLY,  # certificates: bulk issue and template settings
    "mcrt": MEMBERS,  # one's own certificate from /my (the handler checks whose it is)
    "ch": MEMBERS,
    "cha": STAFF_ONLY,
    "rv": LEADERS,
    "wb": MEMBERS,
    "wba": STAFF_ONLY,
    "wbw": STAFF_ONLY,
    "ivt": STAFF_ONLY,
    "prm": STAFF_ONLY,
    "pk": STAFF_ONLY,  # the people picker: /promote, /demote, jurors (bot.services.people)
    "dmt": STAFF_ONLY,
    "wk": COORDINATORS,  # the weekly report's form
    "lnk": REGISTERED,  # "Send news here" (bot.services.links)
}

# Commands shown in /help and Telegram's "/" menu, per role, in this order.
MENU: dict[str, tuple[str, ...]] = {
    GUEST: ("start", "link", "language", "help"),
    PENDING: ("profile", "link", "language", "help", "cancel", "deleteme"),
    STUDENT: ("challenges", "webinars", "my", "leaderboard", "judge", "profile", "link",
              "language", "help", "cancel", "mydata", "deleteme"),
    COORDINATOR: ("week", "broadcast", "broadcasts", "review", "pending", "stats",
                  "export_stats", "joinlink", "challenges", "webinars", "judge", "leaderboard",
                  "profile", "link", "language", "help", "cancel", "mydata", "deleteme"),
    STAFF: ("broadcast", "broadcasts", "newchallenge", "challenges", "export_challenge",
            "review", "jury", "judge", "newwebinar", "webinars", "export_webinar", "stats",
            "export_stats", "report", "digest", "leaderboard", "certificates", "wa_templates",
            "verify", "invite", "pending", "promote", "demote", "import_districts", "orgs",
            "joinlink", "profile", "link", "language", "help", "cancel", "mydata", "deleteme"),
}


def command_of(text: str | None) -> str | None:
    """The command a message starts, read the way aiogram's `Command` filter reads it: the
    first whitespace-separated word (leading spaces, NBSP and other Unicode spaces skipped),
    "/" then the name up to "@bot". Lower-cased, so "/PENDING" is checked as "pending" (a
    stricter reading than aiogram's, which would not run it at all). Anything aiogram would
    take for a command is checked here: no spelling runs a handler past the access rules."""
    if not text:
        return None
    words = text.split(maxsplit=1)
    if not words or not words[0].startswith("/"):
        return None
    name = words[0][1:].partition("@")[0]
    return name.casefold() or None


def command_prefix(text: str | None) -> str:
    """The first character aiogram's `Command` filter would take for the prefix ("" if none);
    cheap for the usual text that does not start with a space."""
    if not text:
        return ""
    if not text[0].isspace():
        return text[0]
    return text.lstrip()[:1]


def command_allowed(command: str, role: str) -> bool | None:
    """True/False for a known command, None for a command nobody declared."""
    roles = COMMAND_ROLES.get(command)
    return None if roles is None else role in roles


def callback_allowed(prefix: str, role: str) -> bool:
    return role in CALLBACK_ROLES.get(prefix, frozenset())
