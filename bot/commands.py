"""Command descriptions: /help per role, and Telegram's "/" menu per language."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeDefault
from aiogram.utils.i18n import lazy_gettext as __

from bot.access import MENU
from bot.i18n import LANGUAGES, PoI18n
from bot.services.users import GUEST, STUDENT

# A command appears in /help and the menu only once it has a description here.
DESCRIPTIONS = {
    "start": __("register or open the main menu"),
    "help": __("what this bot can do for you"),
    "cancel": __("leave the current step"),
    "language": __("change the language"),
    "profile": __("see and edit your data"),
    "deleteme": __("erase your personal data"),
    "link": __("one account on Telegram and WhatsApp"),
    "unlink": __("separate Telegram and WhatsApp again"),
    "mydata": __("download everything stored about you"),
    "joinlink": __("a link and QR code for students of your area"),
    "invite": __("create a coordinator invite link"),
    "pending": __("coordinators waiting for approval"),
    "promote": __("make a registered user staff"),
    "demote": __("take staff rights away"),
    "import_districts": __("import district corrections from CSV"),
    "orgs": __("organisations of a district: find and merge duplicates"),
    "broadcast": __("send an announcement to your people"),
    "broadcasts": __("your announcements and their reports"),
    "stats": __("statistics for a week, month, year or dates"),
    "export_stats": __("statistics as a spreadsheet"),
    "report": __("the annual report draft (DOCX)"),
    "leaderboard": __("rankings of schools, districts, regions and factions"),
    "digest": __("switch the weekly report on or off"),
    "week": __("report this week's offline events in your area"),
    "webinars": __("upcoming webinars and registration"),
    "newwebinar": __("create a webinar"),
    "export_webinar": __("registrants of a webinar as XLSX"),
    "certificates": __("issue, revoke and export certificates"),
    "wa_templates": __("the WhatsApp templates the bot needs, checked against the account"),
    "verify": __("check a certificate by its number"),
    "challenges": __("challenges, actions and contests"),
    "my": __("my challenges and entries"),
    "newchallenge": __("create a challenge, action or contest"),
    "review": __("review entries from your area"),
    "export_challenge": __("entries of a challenge as XLSX"),
    "jury": __("the jury of a contest: jurors, criteria, ranking"),
    "judge": __("the contests you judge: score their entries"),
}


def help_lines(role: str) -> list[tuple[str, str]]:
    """(command, description) for one role, in menu order."""
    return [(c, str(DESCRIPTIONS[c])) for c in MENU.get(role, ()) if c in DESCRIPTIONS]


async def publish_commands(bot: Bot, i18n: PoI18n) -> None:
    """The default "/" menu (guests and students) in each language."""
    commands = [c for c in dict.fromkeys(MENU[STUDENT] + MENU[GUEST]) if c in DESCRIPTIONS]
    for lang in LANGUAGES:
        with i18n.context(), i18n.use_locale(lang):
            menu = [BotCommand(command=c, description=str(DESCRIPTIONS[c])[:256])
                    for c in commands]
        await bot.set_my_commands(menu, scope=BotCommandScopeDefault(), language_code=lang)
    with i18n.context(), i18n.use_locale(i18n.default_locale):
        await bot.set_my_commands(
            [BotCommand(command=c, description=str(DESCRIPTIONS[c])) for c in commands],
            scope=BotCommandScopeDefault())
