"""Updates that are not conversation: the user blocking or unblocking the bot, group chats."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.routing import Routes
from bot.services.users import set_reachable

routes = Routes(__name__)


PRIVATE = F.chat.type == "private"


@routes.my_chat_member(PRIVATE, ChatMemberUpdatedFilter(member_status_changed=KICKED))
async def on_blocked(event: ChatMemberUpdated, session: AsyncSession) -> None:
    await set_reachable(session, event.from_user.id, reachable=False)


@routes.my_chat_member(PRIVATE, ChatMemberUpdatedFilter(member_status_changed=MEMBER))
async def on_unblocked(event: ChatMemberUpdated, session: AsyncSession) -> None:
    await set_reachable(session, event.from_user.id, reachable=True)


@routes.message(F.chat.type.in_({"group", "supergroup"}))
async def on_group_message(message: Message) -> None:
    """The bot may sit in a coordinators' group; it talks to people only in private."""
    return None
