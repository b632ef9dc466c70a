from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from config_service.models.base import ID_LENGTH, Base, created_at_column


class OrgKey(Base):
    """An org's data-encryption key, wrapped by the master key (DESIGN §8)."""

    __tablename__ = "org_keys"

    org_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    wrapped_key: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
