"""All models, imported so that Base.metadata knows every table."""

from db.base import Base
from db.models.challenges import Challenge, ChallengeOption, ChallengeParticipant, Submission
from db.models.core import (
    ActivityLog,
    BotState,
    District,
    FsmRecord,
    Invite,
    ProcessedUpdate,
    Region,
    User,
)
from db.models.delivery import Delivery, OutboxPayload

__all__ = [
    "ActivityLog",
    "Base",
    "BotState",
    "Challenge",
    "ChallengeOption",
    "ChallengeParticipant",
    "Delivery",
    "District",
    "FsmRecord",
    "Invite",
    "OutboxPayload",
    "ProcessedUpdate",
    "Region",
    "Submission",
    "User",
]
