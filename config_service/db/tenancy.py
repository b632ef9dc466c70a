"""The SQL form of `kit.tenancy`'s rule: a row belongs to an incarnation of an org or node id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement

from config_service.kit.tenancy import Incarnation


def belongs_to(uid_column: Any, time_column: Any, incarnation: Incarnation) -> ColumnElement[bool]:
    """Rows carrying the incarnation's uid, or none and written since it was created."""
    carries: ColumnElement[bool] = uid_column == incarnation.uid
    if incarnation.created_at is None:
        return carries
    return or_(carries, and_(uid_column.is_(None), time_column >= incarnation.created_at))
