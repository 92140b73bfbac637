"""Statistics: periods in Asia/Almaty, scopes, counts from the activity log and entity tables.

Definitions (also in the README, "Statistics"):
- every count is of activity_log rows whose `at` lies in [start, end) of the period, the
  period's days running from 00:00 to 24:00 Asia/Almaty;
- a row belongs to the region/district stored on it (the actor's place at that moment), so
  erased users still count, anonymously;
- active user: anyone with at least one logged action in the period;
- winners: `winner` rows, less those cancelled by a later `winner_cleared` of the same entry
  (`undone_wins`); a changed place is logged as `winner_changed` and is not a second win;
- coordinators by level: active coordinators registered before the period's end (a snapshot);
- webinars held: not cancelled webinars that started in the period and before now (one later
  this week is not held yet; country-wide); speakers: the distinct speaker names of those;
- broadcasts: "broadcast_sent" rows; delivered/blocked: broadcast deliveries finished in the
  period with status sent/blocked (scoped by the recipient's place).

No aiogram here: texts are built with a translator callable `tr(msgid) -> str`.

The package, by part: periods (and scopes), counts (the metrics), render (the /stats text),
boards (leaderboards and their cache), digest (preferences). Callers import the names from here.
"""

from bot.services.stats.boards import (
    BOARD_CACHE_TTL,
    BOARD_KEYS,
    BOARDS,
    POINTS,
    STUDENT_PERIODS,
    BoardCache,
    BoardRow,
    Leaderboard,
    board_request,
    district_rows,
    leaderboard,
    org_key,
    place_of,
    student_may_ask,
)
from bot.services.stats.counts import (
    AREA_COLUMNS,
    AREA_LABELS,
    KIND_METRIC,
    METRIC_KEYS,
    METRIC_LABELS,
    PARTICIPATION_KINDS,
    PASSIVE_KINDS,
    REG_ROLES,
    SECTIONS,
    TREND_WEEKS,
    AreaRow,
    Stats,
    Trend,
    collect,
    covered,
    speaker_names,
    summary,
    trend,
    undone_wins,
)
from bot.services.stats.digest import (
    digest_enabled,
    place_namer,
    set_digest,
)
from bot.services.stats.periods import (
    MAX_PERIOD_DAYS,
    Period,
    Scope,
    Translate,
    _,
    parse_period,
    scope_of,
    week_of,
)
from bot.services.stats.render import (
    fmt_change,
    render_text,
)

__all__ = [
    "AREA_COLUMNS",
    "AREA_LABELS",
    "BOARDS",
    "BOARD_CACHE_TTL",
    "BOARD_KEYS",
    "KIND_METRIC",
    "MAX_PERIOD_DAYS",
    "METRIC_KEYS",
    "METRIC_LABELS",
    "PARTICIPATION_KINDS",
    "PASSIVE_KINDS",
    "POINTS",
    "REG_ROLES",
    "SECTIONS",
    "STUDENT_PERIODS",
    "TREND_WEEKS",
    "AreaRow",
    "BoardCache",
    "BoardRow",
    "Leaderboard",
    "Period",
    "Scope",
    "Stats",
    "Translate",
    "Trend",
    "_",
    "board_request",
    "collect",
    "covered",
    "digest_enabled",
    "district_rows",
    "fmt_change",
    "leaderboard",
    "org_key",
    "parse_period",
    "place_namer",
    "place_of",
    "render_text",
    "scope_of",
    "set_digest",
    "speaker_names",
    "student_may_ask",
    "summary",
    "trend",
    "undone_wins",
    "week_of",
]
