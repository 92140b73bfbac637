"""Updates that are not conversation: the user blocking or unblocking the bot, group chats."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.services.users import set_reachable

router = Router(name=__name__)


PRIVATE = F.chat.type == "private"


@router.my_chat_member(PRIVATE, ChatMemberUpdatedFilter(member_status_changed=KICKED))
async def on_blocked(event: ChatMemberUpdated, session: AsyncSession, app: App) -> None:
    await set_reachable(session, event.from_user.id, reachable=False)


@router.my_chat_member(PRIVATE, ChatMemberUpdatedFilter(member_status_changed=MEMBER))
async def on_unblocked(event: ChatMemberUpdated, session: AsyncSession, app: App) -> None:
    await set_reachable(session, event.from_user.id, reachable=True)


@router.message(F.chat.type.in_({"group", "supergroup"}))
async def on_group_message(message: Message) -> None:
    """The bot may sit in a coordinators' group; it talks to people only in private."""
    return None
