"""Keyboards of challenges, submissions, review and the staff wizard (pure builders)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import labels
from bot.callbacks import ChallengeAdminCD, ChallengeCD, ReviewCD
from bot.services import challenges as svc
from bot.services import jury
from bot.services.places import PlaceDirectory
from handlers.challenges.texts import CONTENT


def rows_kb(rows: Iterable[tuple[str, str]], columns: int = 1) -> InlineKeyboardMarkup:
    """(text, packed callback data) pairs, `columns` buttons a row. Built directly rather than
    with InlineKeyboardBuilder: these sit on the submit path, and the builder copies deeply."""
    buttons = [InlineKeyboardButton(text=text, callback_data=data) for text, data in rows]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[i:i + columns]
                                                 for i in range(0, len(buttons), columns)])


def list_kb(items: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    return rows_kb((text, ChallengeCD(action="card", id=cid).pack()) for cid, text in items)


def card_kb(challenge_id: int, can_join: bool, can_submit: bool,
            leader: bool = False) -> InlineKeyboardMarkup:
    rows = []
    if leader:
        rows.append((_("👀 Who has not sent yet"),
                     ChallengeCD(action="gap", id=challenge_id).pack()))
    if can_join:
        rows.append((_("✋ Join"), ChallengeCD(action="join", id=challenge_id).pack()))
    if can_submit:
        rows.append((_("📤 Send my entry"), ChallengeCD(action="submit", id=challenge_id).pack()))
    rows.append((_("« All challenges"), ChallengeCD(action="list", id=0).pack()))
    return rows_kb(rows)


def options_kb(challenge_id: int, action: str, options: list[tuple[int, str]],
               ) -> InlineKeyboardMarkup:
    return rows_kb((name, ChallengeCD(action=action, id=challenge_id, arg=str(oid)).pack())
                   for oid, name in options)


def confirm_submit_kb(challenge_id: int, with_comment: bool) -> InlineKeyboardMarkup:
    send = _("✅ Send") if with_comment else _("✅ Send without a comment")
    return rows_kb([(send, ChallengeCD(action="ok", id=challenge_id).pack()),
                    (_("✖️ Cancel"), ChallengeCD(action="no", id=challenge_id).pack())])


def nudge_kb(challenge_id: int, people: bool, schools: bool) -> InlineKeyboardMarkup | None:
    rows = []
    if people:
        rows.append((_("🔔 Remind them"), ChallengeCD(action="nudge", id=challenge_id).pack()))
    if schools:
        rows.append((_("📣 Invite these schools"),
                     ChallengeCD(action="nudges", id=challenge_id).pack()))
    return rows_kb(rows) if rows else None


def withdraw_kb(items: list[int]) -> InlineKeyboardMarkup | None:
    if not items:
        return None
    return rows_kb(((_("Withdraw No. {n}").format(n=sid),
                     ChallengeCD(action="wd", id=sid).pack()) for sid in items), columns=2)


def withdraw_confirm_kb(submission_id: int) -> InlineKeyboardMarkup:
    return rows_kb([(_("Yes, withdraw"), ChallengeCD(action="wdok", id=submission_id).pack()),
                    (_("No, keep it"), ChallengeCD(action="my", id=0).pack())], columns=2)


# --- staff ---------------------------------------------------------------------------------

def admin_kb(rows: Iterable[tuple[str, str, int, str]], columns: int = 1) -> InlineKeyboardMarkup:
    """(text, action, id, arg) rows of ChallengeAdminCD buttons."""
    return rows_kb(((text, ChallengeAdminCD(action=a, id=i, arg=arg).pack())
                    for text, a, i, arg in rows), columns)


def toggles_kb(action: str, options: dict[str, str], chosen: Iterable[str], done: str,
               columns: int = 2) -> InlineKeyboardMarkup:
    picked = set(chosen)
    rows = [(("☑️ " if key in picked else "▫️ ") + text, action, 0, key)
            for key, text in options.items()]
    kb = InlineKeyboardBuilder()
    for text, a, i, arg in rows:
        kb.button(text=text, callback_data=ChallengeAdminCD(action=a, id=i, arg=arg))
    kb.adjust(columns)
    kb.row()
    done_kb = InlineKeyboardBuilder()
    done_kb.button(text=done, callback_data=ChallengeAdminCD(action=f"{action}_done"))
    kb.attach(done_kb)
    return kb.as_markup()


def skip_kb() -> InlineKeyboardMarkup:
    return admin_kb([(_("Skip »"), "skip", 0, "")])


def audience_options() -> dict[str, str]:
    """The audience's toggles: organisation types ("o.school") and factions ("f.…")."""
    options = {f"o.{k}": str(v) for k, v in labels.ORG_TYPE.items()}
    options.update({f"f.{k}": str(v) for k, v in labels.FACTION.items()})
    return options


def audience_chosen(w: dict[str, Any]) -> list[str]:
    aud = w["audience"]
    return [f"o.{k}" for k in aud["org_types"]] + [f"f.{k}" for k in aud["factions"]]


def regions_kb(action: str, places: PlaceDirectory, locale: str, chosen: list[int],
               done: str) -> InlineKeyboardMarkup:
    options = {str(r.id): r.name(locale) for r in places.regions}
    return toggles_kb(action, options, [str(i) for i in chosen], done)


def content_kb(action: str, kinds: list[str], done: str) -> InlineKeyboardMarkup:
    options = {k: str(CONTENT[k]) for k in svc.CONTENT_KINDS}
    return toggles_kb(action, options, kinds, done, columns=3)


def manage_kb(challenge_id: int, status: str) -> InlineKeyboardMarkup:
    rows: list[tuple[str, str, int, str]] = []
    if status == "draft":
        rows += [(_("🚀 Publish"), "pub", challenge_id, ""),
                 (_("✏️ Edit"), "edit", challenge_id, ""),
                 (_("🗑 Delete draft"), "del", challenge_id, "")]
    if status == "open":
        rows += [(_("✏️ Edit"), "edit", challenge_id, ""),
                 (_("📅 Extend the deadline"), "ext", challenge_id, ""),
                 (_("⏹ Close now"), "closeq", challenge_id, "")]
    if status == "closed":  # once the results are announced, places are final
        rows += [(_("🏆 Mark winners"), "win", challenge_id, ""),
                 (_("📅 Extend the deadline"), "ext", challenge_id, ""),
                 (_("📣 Publish the results"), "resq", challenge_id, "")]
    if status != "draft":
        rows += [(_("📊 Export XLSX"), "xlsx", challenge_id, "")]
    markup = admin_kb(rows, columns=2)
    if status == "open":
        markup.inline_keyboard.append(card_kb(challenge_id, False, False, True)
                                      .inline_keyboard[0])
    return markup


def review_kb(submission_id: int) -> InlineKeyboardMarkup:
    return rows_kb([(_("✅ Approve"), ReviewCD(action="ok", id=submission_id).pack()),
                    (_("❌ Reject"), ReviewCD(action="rej", id=submission_id).pack()),
                    (_("➡️ Next"), ReviewCD(action="next", id=submission_id).pack())],
                   columns=3)


def reasons_kb(submission_id: int, reasons: dict[str, str]) -> InlineKeyboardMarkup:
    rows = [(text, ReviewCD(action="why", id=submission_id, arg=key).pack())
            for key, text in reasons.items()]
    rows.append((_("✍️ Type a reason"), ReviewCD(action="type", id=submission_id).pack()))
    rows.append((_("« Back"), ReviewCD(action="back", id=submission_id).pack()))
    return rows_kb(rows)


# --- the jury --------------------------------------------------------------------------------

def plan_kb(plan: jury.PlacesPlan, raw_diplomas: str) -> InlineKeyboardMarkup:
    cid, fp = plan.challenge_id, plan.fingerprint()
    rows = []
    if plan.conflicts:
        if plan.new:
            rows.append((_("✅ Apply, keep the places already set ({n})").format(
                n=len(plan.conflicts)), "rkok", cid, f"{raw_diplomas}.k.{fp}"))
        rows.append((_("⚠️ Apply and overwrite the places already set ({n})").format(
            n=len(plan.conflicts)), "rkok", cid, f"{raw_diplomas}.o.{fp}"))
    elif plan.new:
        rows.append((_("✅ Apply"), "rkok", cid, f"{raw_diplomas}.k.{fp}"))
    rows += [(_("« Back"), "rkap", cid, ""), (_("✖️ Cancel"), "rkno", cid, "")]
    return admin_kb(rows)


def score_kb(submission_id: int, criterion: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for value in range(jury.SCORE_MAX + 1):
        kb.button(text=str(value), callback_data=ChallengeCD(
            action="js", id=submission_id, arg=f"{criterion}_{value}"))
    kb.adjust(6, 5)
    return kb.as_markup()
