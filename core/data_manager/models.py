from __future__ import annotations

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, Timestamped


class View(Timestamped, Base):
    """A Data Manager tab. Label Studio keeps filters, ordering and selected items outside `data`
    (a FilterGroup, `ordering`, `selected_items`) and merges them back into `data` when rendering;
    the same split is kept here so that the filter engine reads them without parsing `data`.

    - `filters`: {"conjunction": "and"|"or", "items": [{"filter", "operator", "type", "value",
      optional "child_filter"}]} or None (no filter group).
    - `ordering`: list of column names such as ["tasks:id", "-tasks:total_annotations"].
    - `selected_items`: {"all": bool, "included"|"excluded": [...]} or None.
    - `data`: everything else the frontend stores (hiddenColumns, columnsWidth, title, ...).
    """

    __tablename__ = "dm_views"
    __table_args__ = (Index("ix_dm_views_project_order", "project_id", "order", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    order: Mapped[int | None] = mapped_column(default=0)
    data: Mapped[dict | None]
    filters: Mapped[dict | None]
    ordering: Mapped[list | None]
    selected_items: Mapped[dict | None]
