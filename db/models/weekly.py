"""Coordinators' weekly reports of the offline week (issue 17): events held and people
reached in their area, with a free note. One row per coordinator per week (the Monday of
the week in Asia/Almaty); filing the same week again updates the row. The area is copied
when the report is filed, so a coordinator who moves later still counts where the work was
done (as the activity log does).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UtcDateTime, utcnow


class WeeklyReport(Base):
    __tablename__ = "weekly_reports"
    __table_args__ = (UniqueConstraint("coordinator_id", "week",
                                       name="uq_weekly_reports_coordinator_week"),
                      Index("ix_weekly_reports_week", "week", "region_id", "district_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    coordinator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    week: Mapped[date] = mapped_column(Date)  # Monday of the week, Asia/Almaty
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    events_held: Mapped[int] = mapped_column(Integer)
    people_reached: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(1000))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
