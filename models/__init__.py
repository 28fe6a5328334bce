"""All models, imported here so that Alembic and the app see the whole metadata."""
from .application import (
    AppState, Application, ApplicationEvent, ApplicationMember, Attachment, Gender, MemberStatus, Notification,
    PartyOrgKind,
)
from .audit import AuditEvent
from .fund import (
    BatchState, DisbursementBatch, FundItem, FundPayment, FundStandard, FundState, MAX_FUND, MIN_FUND, PaymentKind,
)
from .base import LabelledEnum, db, utcnow
from .instructor import Instructor
from .organisation import Organisation, OrgKind
from .stored_file import StoredFile
from .unit import Unit, UnitCategory
from .user import Role, User

__all__ = [
    "AppState", "Application", "ApplicationEvent", "ApplicationMember", "Attachment", "Gender", "MemberStatus",
    "Notification", "PartyOrgKind", "AuditEvent", "Instructor", "LabelledEnum", "OrgKind", "Organisation", "Role", "StoredFile",
    "Unit", "UnitCategory", "User", "db", "utcnow", "BatchState", "DisbursementBatch", "FundItem", "FundPayment",
    "FundStandard", "FundState", "MAX_FUND", "MIN_FUND", "PaymentKind",
]
