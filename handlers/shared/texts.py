"""Domain error codes → a reply in the user's language."""

from __future__ import annotations

import html
from collections.abc import Callable

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n import ngettext
from babel.support import LazyProxy

from bot.services.errors import DomainError

# Every DomainError code a person may meet -> its text (HTML; {fields} from the error's
# details, escaped by error_text). One group per feature: a feature edits only its own.
ERRORS: dict[str, LazyProxy] = {
    # --- people: registration, profile, guardians; administration --------------------------------
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
    "not_your_request": __("This request is not from your area: the centre decides it."),
    "csv_encoding": __("The file must be a CSV in UTF-8."),
    "csv_columns": __("The CSV must have the columns: {columns}."),
    "csv_region": __("Line {line}: unknown region code “{code}”."),
    "csv_unit_type": __("Line {line}: the type must be district, city or city_district."),
    "csv_empty": __("Line {line}: the names in all three languages are required."),
    "csv_name": __("Line {line}: a name must be at most {max} characters long and cannot "
                   "contain &lt; or &gt; or control characters."),
    "bad_field": __("This field cannot be changed."),
    "unknown_region": __("Unknown region."),
    "unknown_district": __("Unknown district."),
    "org_unknown": __("This organisation is not in the list of your district any more. "
                      "Please choose again."),
    "org_gone": __("This organisation was already merged into another one."),
    "org_merge_place": __("Only two different organisations of the same district and type "
                          "can be merged."),
    "guardian_link_invalid": __("This confirmation link is not valid or was already used."),
    "guardian_not_a_student": __("Only a parent or guardian can confirm with this link. Please "
                                 "forward it to them."),
    "coordinator_request_limit": __("Too many coordinator requests from this account: at most "
                                    "{max} a day. Please try again later."),
    "coordinator_request_limit+contact": __(
        "Too many coordinator requests from this account: at most {max} a day. Please try "
        "again later, or ask the centre for an invitation link: {contact}"),
    "bad_value": __("This value cannot be used. Please choose again."),
    "invite_days": __("The number of days must be from 1 to {max}."),
    "invite_uses": __("The number of uses must be from 1 to {max}."),
    "user_unknown": __("No registered user has the Telegram id {tg_id}."),
    # the people picker (bot.services.people): each refusal says exactly why
    "username_unknown": __("Nobody registered has the username @{username} (the bot learns "
                           "it when they write to the bot). Type a part of their name, or "
                           "choose them with the button."),
    "username_bad": __("This is not a Telegram username: it has 5 to 32 Latin letters, digits "
                       "or _, like @aigerim_k."),
    "name_unknown": __("Nobody registered has “{query}” in their name. Type another part of "
                       "it or their @username, or choose them with the button."),
    "name_too_many": __("More than {n} people have “{query}” in their name: type more of it."),
    "name_outside_scope": __("Nobody in your area has “{query}” in their name: you can name "
                             "only the people of your region or district."),
    "person_outside_scope": __("{name} is not in your area: you can name only the people of "
                               "your region or district."),
    "contact_no_account": __("This contact has no Telegram account. Share a contact from "
                             "Telegram, or type their name."),
    "shared_unregistered": __("This person has not registered in the bot. Ask them to send "
                              "/start to the bot and register first."),
    "person_pending": __("{name} is a coordinator whose request is still waiting for "
                         "approval: decide it in /pending first."),
    "person_rejected": __("{name}'s coordinator request was rejected, so their account is "
                          "not active."),
    "person_guardian": __("{name} is waiting for a parent's or guardian's confirmation: "
                          "nothing can be given to them until it comes."),
    "person_unregistered": __("{name} has no active account in the bot."),
    "already_staff": __("This user is already centre staff."),
    "not_staff": __("This user is not centre staff."),
    "last_staff": __("This is the only staff member left: promote someone else with /promote "
                     "first, or nobody could run the centre's work."),
    # --- challenges: entries, the wizard and setup, review, the jury -----------------------------
    "deadline_passed": __("The deadline has passed: this challenge no longer accepts entries."),
    "not_started": __("This challenge has not started yet."),
    "not_in_audience": __("This challenge is not open to your organisation, faction or region."),
    "no_submissions": __("This action needs no entries: joining is your participation."),
    "limited_account": __("Your account is limited until a parent or guardian confirms it, "
                          "so you cannot send entries yet. /profile shows the link to "
                          "forward to them."),
    "limited_join": __("A parent or guardian has to confirm your account first, so you cannot "
                       "join challenges or actions yet. /profile shows the link to forward to "
                       "them."),
    "limit_reached": __("You have already sent the most entries allowed ({max}). Withdraw one "
                        "in /my to send another."),
    "too_big": __("This file is too big: the limit is {mb} MB. Send a smaller or compressed "
                  "file."),
    "text_too_long": __("The text is too long: at most {max} characters."),
    "comment_too_long": __("The comment is too long: at most {max} characters."),
    "no_content": __("Send your entry first."),
    "choose_nomination": __("Choose a nomination first."),
    "choose_category": __("Choose an age category first."),
    "cannot_withdraw": __("This entry can no longer be withdrawn."),
    "bad_date": __("Please type the date and time as 25.11.2026 18:00 (Almaty time)."),
    "deadline_past": __("The deadline must be in the future."),
    "deadline_before_start": __("The deadline must be after the start."),
    "extend_earlier": __("The new deadline must be later than the current one. To end the "
                         "challenge earlier, press “⏹ Close now”."),
    "text_length": __("The text must be from 1 to {max} characters long."),
    "option_too_long": __("Each name must be at most {max} characters long."),
    "options_empty": __("Type at least one line, or press Skip."),
    "option_no_kk": __("Line {line}: the name in Kazakh comes first, before the first “|”."),
    "option_twice": __("“{name}” is listed twice. Give each one a different name."),
    "options_too_many": __("At most {max} lines, please."),
    "bad_number": __("Please type a number from 1 to {max}."),
    "not_draft": __("Only a draft can be published or deleted."),
    "already_judged": __("The results are already published."),
    "not_closed": __("Close the challenge first."),
    "bad_kind": __("Choose the kind with the buttons."),
    "winner_line": __("Line {line}: write “entry number place”, e.g. “12 1”. Places: gp, 1, 2, "
                      "3, diploma, or - to clear."),
    "winner_unknown": __("There is no entry No. {numbers} in this challenge. Nothing was "
                         "saved."),
    "winner_twice": __("No. {numbers} is on more than one line: give each entry one place. "
                       "Nothing was saved."),
    "winner_not_approved": __("Only approved entries can get a place. Not approved (still "
                              "waiting for review, rejected or withdrawn): No. {numbers}. "
                              "Nothing was saved."),
    "need_kinds": __("Choose at least one kind of content."),
    "edit_closed": __("No. {n} is closed. To change this, extend the deadline first (that "
                      "opens it again)."),
    "bad_audience": __("Choose the audience with the buttons."),
    "options_contest_only": __("Only a contest has nominations and age categories."),
    "option_exists": __("There is already one with this name (in Kazakh)."),
    "option_one_line": __("Type one line: “Kazakh | Russian | English”."),
    "announce_not_open": __("The challenge is not open now: there is nobody to announce it "
                            "to."),
    "already_reviewed": __("This entry has already been reviewed."),  # maybe by themselves
    "juror_unknown": __("No registered user has this Telegram id. They must /start the bot "
                        "first."),
    "juror_already": __("{name} is already on this jury."),
    "jury_contest_only": __("Only a contest has a jury."),
    "jury_started": __("Scoring has started: the criteria can no longer change."),
    "jury_closed": __("The jury round is closed."),
    "jury_no_criteria": __("The jury criteria are not set yet."),
    "not_juror": __("You are not on the jury of this contest."),
    "recused": __("You cannot judge entries from your own region or organisation."),
    "own_entry": __("You cannot judge your own entry."),
    "not_offered": __("Entry No. {n} is not the one waiting for your score: jurors score "
                      "the entries the bot gives them."),
    "quorum_reached": __("Entry No. {n} already has all the scores it needs."),
    "bad_criterion": __("This criterion does not exist for entry No. {n}."),
    "bad_score": __("A score is a whole number from 0 to {max}."),
    "not_for_jury": __("Entry No. {n} is not for the jury: only entries approved at review "
                       "are judged."),
    "ranking_no_quorum": __("No entry has reached the quorum yet: there are no places to "
                            "give from the ranking."),
    "ranking_changed": __("The scores or places changed since this preview. Here is the "
                          "current one:"),
    # --- webinars --------------------------------------------------------------------------------
    "wb_title": __("The title must be from {min} to {max} characters long."),
    "wb_description": __("The description must be from {min} to {max} characters long."),
    "wb_date_format": __("I could not read this date. Please type it like 12.03.2026 15:00 "
                         "or 2026-03-12 15:00 (Almaty time)."),
    "wb_date_past": __("This time has already passed. Please type a future date and time."),
    "wb_date_far": __("This date is more than two years ahead. Please check it."),
    "wb_duration": __("Please type the duration in minutes, from {min} to {max} "
                      "(for example 90 or 1:30)."),
    "wb_url": __("This does not look like a link. Please send a full address starting "
                 "with https://"),
    "wb_speakers": __("Please list at most {max} speakers, one per line, each name up to "
                      "120 characters."),
    "wb_capacity": __("Please type the number of places as a whole number (for example 350)."),
    "wb_capacity_below": __("Already registered: {n}. There cannot be fewer places than "
                            "that."),
    "wb_offsets": __("Please type the reminder times like this: 24h, 1h, 0 (0 means at the "
                     "start; at most 30 days before)."),
    "wb_cancelled": __("This webinar has been cancelled."),
    "wb_over": __("This webinar is already over."),
    "wb_not_for_you": __("This webinar is not intended for your group."),
    "wb_full": __("Sorry, all places for this webinar are taken."),
    "wb_not_yet": __("It is too early: attendance is recorded from 15 minutes before the "
                     "start. Please come back then."),
    "wb_attend_closed": __("Attendance for this webinar is closed: it ended more than 30 "
                           "minutes ago."),
    "wb_not_registered": __("Please register for this webinar first."),
    # --- broadcasts ------------------------------------------------------------------------------
    "bc_not_allowed": __("Only active coordinators and centre staff can send announcements."),
    "bc_out_of_scope": __("You can only address people in your own area."),
    "bc_bad_audience": __("This audience is not available. Choose one from the list."),
    "bc_past": __("This time has already passed. Type a future date and time."),
    "bc_bad_time": __("Please type the date and time like this: 25.12.2026 15:00"),
    "bc_already_finished": __("This announcement has already finished."),
    # --- certificates ----------------------------------------------------------------------------
    "cert_usage": __(
        "Usage:\n/certificates challenge N — winners and participants of a challenge\n"
        "/certificates webinar N — those who attended a webinar\n"
        "/certificates series 3-17 12 Title — attended at least 12 of webinars 3…17\n"
        "/certificates templates — backgrounds and signatories\n"
        "/certificates revoke NUMBER reason\n"
        "/certificates reissue NUMBER reason — a corrected one with a new number\n"
        "/certificates export — the registry as XLSX"),
    "cert_not_finished": __("Certificates can be issued only after it has finished (a contest: "
                            "after the results are published)."),
    "cert_unknown": __("No certificate has the number {number}."),
    "cert_already_revoked": __("Certificate {number} was already revoked."),
    "cert_already_reissued": __("Certificate {number} has already been replaced by No. {new}."),
    "cert_holder_gone": __("Certificate {number} cannot be issued again: its holder has left or "
                           "has no name in the profile."),
    "cert_bad_image": __("This is not a picture I can use. Send a JPEG or PNG of at least "
                         "300×200 pixels (A4 landscape works best)."),
    "cert_signatories_format": __(
        "Send one signatory per line as “Title | Name”, at most 3. A line [kk], [ru] or [en] "
        "starts a list for that language only."),
    # --- statistics ------------------------------------------------------------------------------
    "stats_period": __("Write the period as week, month, year, a year (2026) or two dates: "
                       "/stats 2026-03-01 2026-03-31."),
    "stats_scope": __("Statistics are available to centre staff and approved coordinators."),
    "stats_dates_order": __("The second date comes before the first. Write the earlier date "
                            "first, for example 2026-03-01 2026-03-31."),
    "board_period": __("Write the period as week, month, year, a year (2026) or two dates "
                       "(/leaderboard 2026-03-01 2026-03-31), or a challenge: /leaderboard "
                       "challenge 12."),
    "stats_year": __("Write the year, for example: /report 2026."),
    "board_period_student": __("Write week, month or year (/leaderboard week), or a "
                               "challenge: /leaderboard challenge 12."),
    # --- weekly reports --------------------------------------------------------------------------
    "week_number": __("Please type a whole number from 0 to {max} in digits, for example 3."),
    "week_too_many": __("That is more than {max}, too many for one week of one area. Please "
                        "check the number and type it again."),
    "week_note_long": __("The note is {n} characters long; at most {max} fit. Please shorten "
                         "it and send it again."),
    "week_not_coordinator": __("Weekly reports are filed by approved coordinators."),
    # --- one person on two messengers (/link) ---------------------------------------------------
    "link_code_format": __("The code is 6 digits, for example: /link 123456"),
    "link_code_used": __("This code was already used. Ask for a new one with /link in your "
                         "other messenger."),
    "link_code_expired": __("This code has expired: a code works {minutes} minutes. Ask for a "
                            "new one with /link in your other messenger."),
    "link_attempts": __("Too many wrong codes from this chat. Try again in {minutes} minutes."),
    "link_already": __("This chat is already part of your account. Send the code in your "
                       "other messenger."),
    "link_both_registered": __(
        "This chat has a registration of its own, so it is not linked: two registrations are "
        "never merged (they may be two people sharing a phone). If both are yours, erase one "
        "with /deleteme in its chat (its entries and certificates go with it), then link "
        "again."),
    "link_other_messenger": __("The account that asked for this code already has this "
                               "messenger: a code links a Telegram chat with a WhatsApp chat."),
    "link_none": __("Your account is not linked to another messenger. /link links it."),
    "link_busy": __("Please try again in a moment."),
    # --- every feature ---------------------------------------------------------------------------
    "stale_button": __("This button is no longer active."),  # shared.errors.StaleButton
}

# Texts with a count: code -> (the detail holding the count, the text for that count);
# real plural forms (kk 2, ru 3, en 2) come from the catalogs' msgid_plural entries.
COUNTED: dict[str, tuple[str, Callable[[int], str]]] = {
    "option_in_use": ("n", lambda n: ngettext(
        "This one cannot be removed: {n} entry uses it. You can rename it instead.",
        "This one cannot be removed: {n} entries use it. You can rename it instead.", n)),
    "nudge_too_soon": ("hours", lambda n: ngettext(
        "A reminder for this announcement went out less than {hours} hour ago. Please give "
        "people time to answer.",
        "A reminder for this announcement went out less than {hours} hours ago. Please give "
        "people time to answer.", n)),
    "bc_daily_limit": ("limit", lambda n: ngettext(
        "You have reached today's limit of {limit} announcement. Try again tomorrow.",
        "You have reached today's limit of {limit} announcements. Try again tomorrow.", n)),
    "link_code_wrong": ("n", lambda n: ngettext(
        "Wrong code. {n} try left.", "Wrong code. {n} tries left.", n)),
    "stats_period_long": ("days", lambda n: ngettext(
        "A period can be at most {days} day long.",
        "A period can be at most {days} days long.", n)),
}

# A list in a message shows a long name or school cut to this many characters (exports
# have them whole), and as many lines as fit, then "…and N more" (bot.services.text).
NAME_SHOWN, ORG_SHOWN = 60, 80


def more_text(n: int) -> str:
    return _("…and {n} more").format(n=n)


def error_text(exc: DomainError, contact: str = "") -> str:
    """The error's text; with the centre's contact (CENTRE_CONTACT) where a text sends the
    person to the centre ("<code>+contact"), and that text only when there is one."""
    template = ERRORS.get(f"{exc.code}+contact") if contact else None
    template = template or ERRORS.get(exc.code)
    if exc.code in COUNTED:
        field, counted = COUNTED[exc.code]
        template = counted(int(exc.details.get(field) or 0))
    if template is None:
        return _("Something went wrong. Please try again.")
    # the texts are HTML: a value from a person or a file (a name, a code) is escaped
    return str(template).format(**{k: html.escape(v) if isinstance(v, str) else v
                                   for k, v in {**exc.details, "contact": contact}.items()})
