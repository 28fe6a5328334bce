"""The nine first-level units (一区两园三部四街) that do the first review."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db

from .base import LabelledEnum, enum_type


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
    # The Party organisation that leads the organisations founded through this unit (上级党组织): the 批复 is
    # addressed to it and names it for 隶属. Not always the unit itself: a department's 党组 (工商联党组) is no level
    # of the Party's basic organisations and cannot lead a branch (党章 ch. 9); a Party committee leads them.
    # Blank: the 党工委 itself leads them.
    superior: Mapped[str] = mapped_column(sa.String(80), server_default="")

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"
