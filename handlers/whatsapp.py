"""/wa_templates (staff): the WhatsApp templates the bot needs, per language, checked
against the business account (bot.notices.templates says why there are templates)."""

from __future__ import annotations

import html

from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.channels import Channel
from bot.notices import templates
from bot.routing import Routes

routes = Routes(__name__)
APPROVED = "APPROVED"


@routes.message(Command("wa_templates"))
async def cmd_wa_templates(message: Message, channels: dict[str, Channel]) -> None:
    channel = channels.get("whatsapp")
    listing = getattr(channel, "account_templates", None)
    states: dict[tuple[str, str], str] = {}
    note = _("Not checked: WhatsApp is not connected, or WHATSAPP_BUSINESS_ACCOUNT_ID is not "
             "set.")
    if listing is not None:
        try:
            states = {(t.name, t.language): state
                      for t, state in await listing()}
            note = ""
        except Exception as exc:  # the account could not be read: say so, list anyway
            note = _("The account's templates could not be read: {error}").format(
                error=html.escape(str(exc)[:200]))
    lines = [_("WhatsApp templates the bot needs (category Utility; {{1}} is the message "
               "itself):")]
    for t in templates.required():
        state = states.get((t.name, t.language))
        mark = "" if state is None else ("✅ " if state == APPROVED else f"❌ {state} ")
        lines.append(f"{mark}<code>{t.name}</code> ({', '.join(_parts(t))}): "
                     f"{html.escape(t.text)}")
    if states:
        approved = sum(state == APPROVED for state in states.values())
        lines.append(_("Approved: {n} of {total}.").format(n=approved, total=len(states)))
    if any(state.startswith("DIFFERENT") for state in states.values()):
        lines.append(_("DIFFERENT: the template on the account has another category, header, "
                       "text or button than the bot sends; submit it again exactly as listed, "
                       "category Utility."))
    if note:
        lines.append(note)
    await message.answer("\n".join(lines))


def _parts(t: templates.Template) -> list[str]:
    """Its language, and the header and button it must be submitted with."""
    parts = [t.language]
    if t.header == templates.DOCUMENT:
        parts.append(_("document header"))
    elif t.header == templates.IMAGE:
        parts.append(_("image header"))
    if t.button:
        parts.append(_("quick-reply button «{text}»").format(text=t.button))
    return parts
