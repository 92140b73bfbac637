"""The broadcasts' buttons: the author's steps, their list of announcements and the
confirmations report. Labels in the language of the update (gettext)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import BroadcastCD
from bot.notices import Voice
from bot.notices import broadcasts as notices
from bot.notices.broadcasts import ACK_LABELS
from bot.services import broadcasts as svc
from bot.services.delivery import Button
from bot.services.places import PlaceDirectory
from bot.services.users import UserInfo
from db.models import Broadcast


def cd(action: str, value: str = "") -> str:
    return BroadcastCD(action=action, value=value.replace(":", ".")).pack()


def audience_kb(area: str | None) -> InlineKeyboardMarkup:
    """Who receives it; `area` names the chosen area for those who may choose one."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Everyone"), callback_data=cd("aud", "all"))
    kb.button(text=_("Students"), callback_data=cd("aud", "students"))
    kb.button(text=_("Coordinators"), callback_data=cd("aud", "coordinators"))
    kb.button(text=_("By organisation type ▸"), callback_data=cd("menu", "org"))
    kb.button(text=_("By faction ▸"), callback_data=cd("menu", "faction"))
    kb.button(text=_("By position ▸"), callback_data=cd("menu", "position"))
    sizes = [3, 3]
    for provider in svc.PROVIDERS.values():
        if provider.options is None:
            kb.button(text=_(provider.label), callback_data=cd("aud", provider.name))
        else:
            kb.button(text=f"{_(provider.label)} ▸",
                      callback_data=cd("menu", "p." + provider.name))
        sizes.append(1)
    if area is not None:
        kb.button(text=_("📍 Area: {area} ▸").format(area=area), callback_data=cd("area"))
        sizes.append(1)
    kb.button(text=_("✖ Cancel"), callback_data=cd("quit"))
    sizes.append(1)
    kb.adjust(*sizes)
    return kb.as_markup()


def submenu_kb(options: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for audience, title in options:
        kb.button(text=title, callback_data=cd("aud", audience))
    kb.button(text=_("« Back"), callback_data=cd("menu", "back"))
    kb.adjust(1)
    return kb.as_markup()


def area_kb(user: UserInfo, places: PlaceDirectory) -> InlineKeyboardMarkup:
    """Staff choose a region; a regional coordinator one of their region's districts."""
    kb = InlineKeyboardBuilder()
    if user.role == "staff":
        kb.button(text=_("The whole country"), callback_data=cd("place", "all"))
        for place in places.regions:
            kb.button(text=place.name(user.locale), callback_data=cd("place", f"r{place.id}"))
    elif user.coordinator_level == "regional":
        region = places.region(user.region_id or 0)  # "whole region" misnames a city
        kb.button(text=region.name(user.locale) if region else _("The whole region"),
                  callback_data=cd("place", "all"))
        for place in places.districts.get(user.region_id or 0, []):
            kb.button(text=place.name(user.locale), callback_data=cd("place", f"d{place.id}"))
    kb.adjust(2)
    return kb.as_markup()


def ack_kb() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("No confirmation"), callback_data=cd("ack", "none"))
    kb.button(text=_(ACK_LABELS["received"]), callback_data=cd("ack", "received"))
    kb.button(text=_(ACK_LABELS["done"]), callback_data=cd("ack", "done"))
    kb.adjust(1, 2)
    return kb.as_markup()


def preview_rows(voice: Voice, locale: str, ack: str | None) -> list[list[Button]]:
    """The recipients' buttons, as they will see them; in the preview they do nothing."""
    rows = notices.button_rows(voice, locale, 0, ack, False)
    for row in rows:
        for button in row:
            button.callback_data = cd("noop")
    return rows


def confirm_kb() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🚀 Send now"), callback_data=cd("send"))
    kb.button(text=_("🕒 Schedule"), callback_data=cd("sched"))
    kb.button(text=_("✖ Cancel"), callback_data=cd("quit"))
    kb.adjust(2, 1)
    return kb.as_markup()


def scheduled_kb(bc_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✖ Cancel it"), callback_data=cd("stop", str(bc_id)))
    return kb.as_markup()


def list_kb(items: list[Broadcast]) -> InlineKeyboardMarkup:
    """/broadcasts: each one's confirmations report, and Cancel while it may still stop."""
    kb = InlineKeyboardBuilder()
    for bc in items:
        if bc.ack:
            kb.button(text=f"📊 #{bc.id}", callback_data=cd("acks", str(bc.id)))
        if bc.status in ("scheduled", "sending"):
            kb.button(text=f"✖ #{bc.id}", callback_data=cd("stop", str(bc.id)))
    kb.adjust(4)
    return kb.as_markup()


def acks_kb(bc_id: int, waiting: int | None) -> InlineKeyboardMarkup:
    """Under the confirmations report: remind the `waiting` ones, if any are named."""
    kb = InlineKeyboardBuilder()
    if waiting is not None:
        kb.button(text=ngettext("🔔 Remind the {n} who has not", "🔔 Remind the {n} who have not",
                                waiting).format(n=waiting),
                  callback_data=cd("nudge", str(bc_id)))
    return kb.as_markup()
