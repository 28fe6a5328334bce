"""The nine first-level units (一区两园三部四街) that do the first review."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import LabelledEnum, db, enum_type


class UnitCategory(LabelledEnum):
    PARK = "park", "园区"
    DEPARTMENT = "department", "主管部门"
    STREET = "street", "街道"


class Unit(db.Model):
    """初审单位: a park, a supervising department or a street committee."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    category: Mapped[UnitCategory] = mapped_column(enum_type(UnitCategory, "unit_category"))
    sort_order: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"
