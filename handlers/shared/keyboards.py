"""Keyboards of registration, profile and approval."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ApproveCD, ConfirmCD, LangCD, PageCD, ProfileCD, RegCD
from bot.i18n import LANGUAGE_NAMES
from bot.services.places import Place


def language_kb() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        kb.button(text=name, callback_data=LangCD(code=code))
    kb.adjust(3)
    return kb.as_markup()


def choice_kb(field: str, options: dict[str, object], columns: int = 1) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for value, text in options.items():
        kb.button(text=str(text), callback_data=RegCD(field=field, value=value))
    kb.adjust(columns)
    return kb.as_markup()


def region_kb(regions: list[Place], locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for place in regions:
        kb.button(text=place.name(locale),
                  callback_data=RegCD(field="region", value=str(place.id)))
    kb.adjust(2)
    return kb.as_markup()


def district_kb(items: list[Place], locale: str, region_id: int, page: int,
                pages: int, whole_region: bool = False) -> InlineKeyboardMarkup:
    """`whole_region`: a last button for the region's own records (staff /orgs: regional
    coordinators' organisations have no district)."""
    kb = InlineKeyboardBuilder()
    for place in items:
        kb.button(text=place.name(locale),
                  callback_data=RegCD(field="district", value=str(place.id)))
    kb.adjust(2)
    nav = InlineKeyboardBuilder()
    if whole_region:
        nav.button(text=_("🏛 Regional level, no district"),
                   callback_data=RegCD(field="whole", value=str(region_id)))
    if page > 0:
        nav.button(text="◀️", callback_data=PageCD(region=region_id, page=page - 1))
    if pages > 1:
        nav.button(text=f"{page + 1}/{pages}", callback_data=PageCD(region=region_id, page=page))
    if page < pages - 1:
        nav.button(text="▶️", callback_data=PageCD(region=region_id, page=page + 1))
    nav.button(text=_("« Another region"), callback_data=RegCD(field="back", value="region"))
    nav.adjust(*((1,) if whole_region else ()), 3, 1)
    kb.attach(nav)
    return kb.as_markup()


def confirm_kb(action: str, yes: str, no: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=yes, callback_data=ConfirmCD(action=action, yes=True))
    kb.button(text=no, callback_data=ConfirmCD(action=action, yes=False))
    kb.adjust(2)
    return kb.as_markup()


def profile_kb(fields: dict[str, str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for field, text in fields.items():
        kb.button(text=text, callback_data=ProfileCD(field=field))
    kb.adjust(2)
    return kb.as_markup()


def approval_kb(user_id: int, approve: str, reject: str) -> list[list[tuple[str, str]]]:
    """As (text, callback_data) rows: it travels through the delivery queue."""
    return [[(approve, ApproveCD(user_id=user_id, ok=True).pack()),
             (reject, ApproveCD(user_id=user_id, ok=False).pack())]]
