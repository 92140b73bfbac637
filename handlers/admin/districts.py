"""/import_districts: staff correct the districts and cities from a CSV file."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.routing import Routes
from bot.services.activity import log_activity
from bot.services.places import IMPORT_COLUMNS, PlaceDirectory, import_districts_csv
from bot.services.users import UserInfo
from handlers.admin.common import active_me
from handlers.shared.errors import error_flags

routes = Routes(__name__)

CSV_MAX_BYTES = 1_000_000


class ImportSG(StatesGroup):
    file = State()


@routes.message(Command("import_districts"))
async def cmd_import_districts(message: Message, state: FSMContext) -> None:
    await state.set_state(ImportSG.file)
    await message.answer(_("Send the CSV file as a document. Columns: {columns}. Units are "
                           "matched by their Russian or Kazakh name: a match is renamed, "
                           "anything else is added. Send /cancel to stop.").format(
        columns=", ".join(IMPORT_COLUMNS)))


@routes.message(ImportSG.file, F.document, flags=error_flags(
    note=__("Fix the file and send it again, or send /cancel.")))
async def on_import_file(message: Message, state: FSMContext, session: AsyncSession,
                         places: PlaceDirectory, user: UserInfo | None) -> None:
    doc = message.document
    if doc.file_size and doc.file_size > CSV_MAX_BYTES:
        await message.answer(_("The file is too large (at most 1 MB). Send a smaller one."))
        return
    raw = (await message.bot.download(doc.file_id)).read()
    added, updated = await import_districts_csv(session, raw)
    staff = await active_me(session, user)
    await log_activity(session, "import_districts", staff,
                       extra={"added": added, "updated": updated})
    await session.flush()
    await places.load(session)
    await state.clear()
    await message.answer(_("Import finished: {added} added, {updated} updated.").format(
        added=added, updated=updated))


@routes.message(ImportSG.file, ~F.text.startswith("/"))
async def on_import_not_file(message: Message) -> None:
    await message.answer(_("Please send the CSV file as a document, or send /cancel."))
