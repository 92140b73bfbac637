"""Keyboards of webinars: the list, a card, staff actions and the /newwebinar wizard."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import WebinarAdminCD, WebinarCD, WebinarWizCD


def webinar_list_kb(items: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for webinar_id, text in items:
        kb.button(text=text[:60], callback_data=WebinarCD(action="open", id=webinar_id))
    kb.adjust(1)
    return kb.as_markup()


def webinar_card_kb(webinar_id: int, *, registered: bool, open_: bool, here: bool,
                    join_url: str | None, staff: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if open_:
        if registered:
            kb.button(text=_("❎ Unregister"), callback_data=WebinarCD(action="unreg",
                                                                       id=webinar_id))
        else:
            kb.button(text=_("✅ Register"), callback_data=WebinarCD(action="reg", id=webinar_id))
        kb.button(text=_("📅 Add to calendar"), callback_data=WebinarCD(action="ics",
                                                                        id=webinar_id))
    if here:
        kb.button(text=_("✋ I'm here"), callback_data=WebinarCD(action="here", id=webinar_id))
    if join_url:
        kb.button(text=_("🔗 Join"), url=join_url)
    if staff:
        kb.button(text=_("✏️ Edit"), callback_data=WebinarAdminCD(action="edit", id=webinar_id))
        kb.button(text=_("👥 Registrants"), callback_data=WebinarAdminCD(action="regs",
                                                                        id=webinar_id))
        kb.button(text=_("📊 Export XLSX"), callback_data=WebinarAdminCD(action="export",
                                                                        id=webinar_id))
        if open_:
            kb.button(text=_("🚫 Cancel the webinar"),
                      callback_data=WebinarAdminCD(action="cancel", id=webinar_id))
    kb.adjust(2)
    return kb.as_markup()


def edit_fields_kb(webinar_id: int, fields: dict[str, str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for field, text in fields.items():
        kb.button(text=text, callback_data=WebinarAdminCD(action="field", id=webinar_id,
                                                          value=field))
    kb.adjust(2)
    return kb.as_markup()


def cancel_confirm_kb(webinar_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Yes, cancel it"), callback_data=WebinarAdminCD(action="cancel_yes",
                                                                     id=webinar_id))
    kb.button(text=_("No, keep it"), callback_data=WebinarCD(action="open", id=webinar_id))
    kb.adjust(2)
    return kb.as_markup()


def wizard_button_kb(text: str, action: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=text, callback_data=WebinarWizCD(action=action))
    return kb.as_markup()


def audience_kb(sections: list[tuple[str, list[tuple[str, str]]]],
                selected: dict[str, list[str]]) -> InlineKeyboardMarkup:
    """Toggle buttons per section (key, [(value, label)]); an empty selection = everyone."""
    kb = InlineKeyboardBuilder()
    sizes: list[int] = []
    everyone = not any(selected.values())
    kb.button(text=("✅ " if everyone else "") + _("Everyone"),
              callback_data=WebinarWizCD(action="aud", value="all"))
    sizes.append(1)
    for key, options in sections:
        chosen = {str(v) for v in selected.get(key, [])}
        for value, label in options:
            mark = "✅ " if value in chosen else ""
            kb.button(text=mark + label, callback_data=WebinarWizCD(action="aud",
                                                                    value=f"{key}={value}"))
        sizes += [2] * (len(options) // 2) + [1] * (len(options) % 2)
    kb.button(text=_("Done ➡️"), callback_data=WebinarWizCD(action="aud_done"))
    sizes.append(1)
    kb.adjust(*sizes)
    return kb.as_markup()


def preview_kb() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📢 Publish and announce"), callback_data=WebinarWizCD(action="announce"))
    kb.button(text=_("✅ Publish without announcing"),
              callback_data=WebinarWizCD(action="publish"))
    kb.button(text=_("🗑 Discard"), callback_data=WebinarWizCD(action="discard"))
    kb.adjust(1)
    return kb.as_markup()
