"""Statistics keeps no tables of its own; it adds covering indexes for its range queries.

(Migration 0005 creates them. The digest's "last week sent" lives in bot_state, and the
delivery queue's dedup keys make each weekly digest unique per staff member.)
"""

from __future__ import annotations

from sqlalchemy import Index

from db.models.core import ActivityLog, User
from db.models.delivery import Delivery

# Period counts scan one range of `at` and never touch the table rows.
ix_activity_stats = Index(
    "ix_activity_stats", ActivityLog.at, ActivityLog.kind, ActivityLog.role,
    ActivityLog.region_id, ActivityLog.district_id, ActivityLog.user_id)
# Counts of a few kinds over long ranges: the 12-week trend, leaderboards, per-challenge rows.
ix_activity_kind_scope = Index(
    "ix_activity_kind_scope", ActivityLog.kind, ActivityLog.at, ActivityLog.region_id,
    ActivityLog.district_id, ActivityLog.user_id, ActivityLog.ref_id)
# Coordinators by level at a moment, in a scope.
ix_users_coordinators = Index(
    "ix_users_coordinators", User.role, User.status, User.coordinator_level, User.region_id,
    User.district_id, User.created_at)
# Broadcast deliveries finished in a period, by status.
ix_deliveries_sent = Index(
    "ix_deliveries_sent", Delivery.source_type, Delivery.sent_at, Delivery.status)
