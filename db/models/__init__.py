"""All models, imported so that Base.metadata knows every table."""

from db.base import Base
from db.models import stats as _stats_indexes  # noqa: F401
from db.models.broadcasts import Broadcast, BroadcastAck
from db.models.certificates import Certificate, CertificateTemplate
from db.models.challenges import Challenge, ChallengeOption, ChallengeParticipant, Submission
from db.models.core import (
    ActivityLog,
    BotState,
    CoordinatorRequest,
    District,
    FsmRecord,
    Invite,
    Organisation,
    ParkedUpdate,
    ProcessedUpdate,
    Region,
    User,
)
from db.models.delivery import Delivery, OutboxPayload, OwedMessage
from db.models.media import StoredMedia
from db.models.webinars import Webinar, WebinarRegistration, WebinarReminder
from db.models.weekly import WeeklyReport
from db.models.whatsapp import LinkAttempt, LinkCode, WaContact

__all__ = [
    "ActivityLog",
    "Base",
    "BotState",
    "Broadcast",
    "BroadcastAck",
    "Certificate",
    "CertificateTemplate",
    "Challenge",
    "ChallengeOption",
    "ChallengeParticipant",
    "CoordinatorRequest",
    "Delivery",
    "District",
    "FsmRecord",
    "Invite",
    "LinkAttempt",
    "LinkCode",
    "Organisation",
    "OutboxPayload",
    "OwedMessage",
    "ParkedUpdate",
    "ProcessedUpdate",
    "Region",
    "StoredMedia",
    "Submission",
    "User",
    "WaContact",
    "Webinar",
    "WebinarRegistration",
    "WebinarReminder",
    "WeeklyReport",
]
