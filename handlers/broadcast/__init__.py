"""Broadcasts: composing, sending and managing them, and what recipients press.

compose (/broadcast up to the preview), send (send now or schedule), manage (/broadcasts,
cancel, confirmations, reminders), recipients (acknowledge, forward to my people). flow,
content, texts and keyboards are what they share. What recipients and authors are sent,
and the tick that starts and reports broadcasts, are bot.notices.broadcasts.
"""

from __future__ import annotations

from bot.routing import Routes
from handlers.broadcast import compose, manage, recipients, send

# the order of the one router they were: no filter of one overlaps another's
ROUTES: tuple[Routes, ...] = (compose.routes, send.routes, manage.routes, recipients.routes)
