"""Domain error codes → a reply in the user's language."""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from bot.services.errors import DomainError

ERRORS = {
    "org_name_length": __("The name must be from {min} to {max} characters long."),
    "name_length": __("The name must be from {min} to {max} characters long."),
    "name_letters": __("Please type a name in letters, as it should appear on certificates."),
    "org_name_letters": __("Please type the name of your school, college or university in "
                           "words, for example “School-lyceum No. 12”."),
    "grade_range": __("Please type a number from 1 to {max}."),
    "invite_unknown": __("This invitation link is not valid."),
    "invite_expired": __("This invitation link has expired. Ask for a new one."),
    "invite_used_up": __("This invitation link has already been used."),
    "not_found": __("Not found. It may have been deleted."),
    "digits_only": __("Please write numbers with the ordinary digits 0–9."),
    "already_decided": __("This request was already decided."),
    "csv_encoding": __("The file must be a CSV in UTF-8."),
    "csv_columns": __("The CSV must have the columns: {columns}."),
    "csv_region": __("Line {line}: unknown region code “{code}”."),
    "csv_unit_type": __("Line {line}: the type must be district, city or city_district."),
    "csv_empty": __("Line {line}: the names in all three languages are required."),
    "csv_name": __("Line {line}: a name must be at most {max} characters long and cannot "
                   "contain &lt; or &gt; or control characters."),
    "bad_field": __("This field cannot be changed."),
    "guardian_link_invalid": __("This confirmation link is not valid or was already used."),
    "guardian_not_a_student": __("Only a parent or guardian can confirm with this link. Please "
                                 "forward it to them."),
    "coordinator_request_limit": __("Too many coordinator requests from this account: at most "
                                    "{max} a day. Please try again later, or ask the centre "
                                    "for an invitation link."),
}

# A list in a message shows a long name or school cut to this many characters (exports
# have them whole), and as many lines as fit, then "…and N more" (bot.services.text).
NAME_SHOWN, ORG_SHOWN = 60, 80


def more_text(n: int) -> str:
    return _("…and {n} more").format(n=n)


# Feature modules register their own codes here at import time.
def register_errors(table: dict[str, object]) -> None:
    ERRORS.update(table)  # type: ignore[arg-type]


def error_text(exc: DomainError) -> str:
    template = ERRORS.get(exc.code)
    if template is None:
        return _("Something went wrong. Please try again.")
    # the texts are HTML: a value from a person or a file (a name, a code) is escaped
    return str(template).format(**{k: html.escape(v) if isinstance(v, str) else v
                                   for k, v in exc.details.items()})
