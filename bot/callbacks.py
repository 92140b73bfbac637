"""Every CallbackData factory of the bot (short prefixes; bot.access lists who may press them)."""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import BeforeValidator

from bot.aiogram_internals import memoise_unpack
from bot.services.numbers import as_int


def _ascii_number(value: object) -> object:
    """Callback data is text anyone can forge: a number is ASCII digits only (pydantic alone
    would also read "1_0", "+1", " 1" and "1.0"). A refused value makes the filter not match,
    so the press ends at "This button is no longer active"."""
    if isinstance(value, str):
        number = as_int(value)
        if number is None:
            raise ValueError("not a number")
        return number
    return value


Num = Annotated[int, BeforeValidator(_ascii_number)]


class LangCD(CallbackData, prefix="lang"):
    code: str


class RegCD(CallbackData, prefix="reg"):
    """A choice during registration: field is role|level|org|region|district|faction|pos."""

    field: str
    value: str


class PageCD(CallbackData, prefix="pg"):
    """Pagination of a region's districts (registration and profile)."""

    region: Num
    page: Num


class OrgCD(CallbackData, prefix="og"):
    """The organisation picker (registration and profile): action is pick|page|new|add;
    `value` the record (pick) or the page (page)."""

    action: str
    value: Num = 0


class OrgAdminCD(CallbackData, prefix="oga"):
    """Staff /orgs: action is src (the duplicate) | dst (what it merges into) | page |
    yes | no; `value` the record or the page."""

    action: str
    value: Num = 0


class ConfirmCD(CallbackData, prefix="cfm"):
    """Yes/no confirmations: action is consent|erase."""

    action: str
    yes: bool


class ProfileCD(CallbackData, prefix="prof"):
    """Profile edits: `field` to edit; `value` is a chosen option (empty: open the editor)."""

    field: str
    value: str = ""


class ApproveCD(CallbackData, prefix="appr"):
    user_id: Num
    ok: bool


class PromoteCD(CallbackData, prefix="prm"):
    """Staff confirm (or not) making the user with this Telegram id staff."""

    tg_id: Num
    yes: bool


class PickCD(CallbackData, prefix="pk"):
    """The people picker: one of several people a typed name matched, for `purpose` (promote:
    /promote, then confirmed with PromoteCD; demote: likewise with DemoteCD; jury: a juror of
    contest `arg`)."""

    purpose: str
    tg_id: Num
    arg: Num = 0


class DemoteCD(CallbackData, prefix="dmt"):
    """Staff confirm (or not) taking staff rights from the user with this Telegram id."""

    tg_id: Num
    yes: bool


class InviteCD(CallbackData, prefix="ivt"):
    """The staff invite wizard: step is level|preset; value the choice."""

    step: str
    value: str


class WebinarCD(CallbackData, prefix="wb"):
    """A participant's action on a webinar: open|reg|unreg|ics|here."""

    action: str
    id: Num = 0


class WebinarAdminCD(CallbackData, prefix="wba"):
    """Staff action on a webinar: edit|field|cancel|cancel_yes|regs|export."""

    action: str
    id: Num
    value: str = ""


class WebinarWizCD(CallbackData, prefix="wbw"):
    """The /newwebinar wizard: skip|aud|aud_done|rem_default|publish|announce|discard."""

    action: str
    value: str = ""


class ChallengeCD(CallbackData, prefix="ch"):
    """Participants: action is list|card|join|submit|nom|cat|skip|ok|no|my|wd|wdok; arg extra.

    bot.notices.challenges.challenge_cb packs it for queued messages.
    """

    action: str
    id: Num
    arg: str = ""


class ChallengeAdminCD(CallbackData, prefix="cha"):
    """Staff: the creation wizard and the management of one challenge."""

    action: str
    id: Num = 0
    arg: str = ""


class ReviewCD(CallbackData, prefix="rv"):
    """Review: action is ok|rej|why|type|next; id is the submission."""

    action: str
    id: Num
    arg: str = ""


class CertCD(CallbackData, prefix="crt"):
    """Certificates (staff): action is issue|drop (bulk issue) or tpl|bg|sig|nobg|pv
    (template settings); template names the template for the settings actions."""

    action: str
    template: str = ""


class MyCertCD(CallbackData, prefix="mcrt"):
    """A person's own certificate in /my: send its PDF again (id: the registry row)."""

    id: int


class BroadcastCD(CallbackData, prefix="bc"):
    """The /broadcast flow and its management: action is aud|menu|area|place|ack|send|sched|
    quit|stop|acks|nudge|noop; value an audience ("." for ":"), a place or a broadcast id."""

    action: str
    value: str = ""


class BroadcastAckCD(CallbackData, prefix="bca"):
    """A recipient's "✅ Received" / "✅ Done" under a broadcast."""

    id: Num


class BroadcastFwdCD(CallbackData, prefix="bcf"):
    """A coordinator's "Forward to my people" under a cascading broadcast."""

    id: Num


class GuardianCD(CallbackData, prefix="grd"):
    """A parent or guardian confirms a minor's account (token of the one-time link)."""

    token: str


class GuardianNoCD(CallbackData, prefix="grn"):
    """A parent or guardian declines: asked once more (sure=False), then the account goes."""

    token: str
    sure: bool = False


class WeekCD(CallbackData, prefix="wk"):
    """The weekly report (/week): action is start (the reminder's button) | skip (no note)."""

    action: str


class LinkCD(CallbackData, prefix="lnk"):
    """/link: "Send news here" — this chat gets the person's news and notices."""

    action: str


# aiogram unpacks a button's data once per CallbackData filter it tries: each factory here
# keeps its recent results (bot.aiogram_internals).
memoise_unpack(__name__)
