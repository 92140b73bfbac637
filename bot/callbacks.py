"""Every CallbackData factory of the bot (short prefixes; bot.access lists who may press them)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class LangCD(CallbackData, prefix="lang"):
    code: str


class RegCD(CallbackData, prefix="reg"):
    """A choice during registration: field is role|level|org|region|district|faction|pos."""

    field: str
    value: str


class PageCD(CallbackData, prefix="pg"):
    """Pagination of a region's districts (registration and profile)."""

    region: int
    page: int


class ConfirmCD(CallbackData, prefix="cfm"):
    """Yes/no confirmations: action is consent|erase."""

    action: str
    yes: bool


class ProfileCD(CallbackData, prefix="prof"):
    field: str


class ApproveCD(CallbackData, prefix="appr"):
    user_id: int
    ok: bool
