"""What the administration's handlers share: the person talking, a bot link."""

from __future__ import annotations

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.users import UserInfo
from db.models import User


async def active_me(session: AsyncSession, info: UserInfo | None) -> User | None:
    """The talking user's row (from the session's identity map), unless erased."""
    user = await session.get(User, info.id) if info is not None else None
    return user if user is not None and user.status != "erased" else None


async def deep_link(bot: Bot, payload: str) -> str:
    """A link opening the bot with /start payload: t.me on Telegram, wa.me on WhatsApp."""
    start_link = getattr(bot.session, "start_link", None)  # WhatsApp's session has it
    if start_link is not None:
        return await start_link(payload)
    me = await bot.me()
    return f"https://t.me/{me.username}?start={payload}"
