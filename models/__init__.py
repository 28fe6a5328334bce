"""All models, imported here so that Alembic and the app see the whole metadata."""
from .application import (
    AppState, Application, ApplicationEvent, ApplicationMember, Attachment, Gender, MemberStatus, Notification,
    PartyOrgKind,
)
from .audit import AuditEvent
from .document import Document, DocumentCounter, DocumentKind, Setting, VerificationCheck
from .base import LabelledEnum, db, utcnow
from .guidance import Assignment, ChecklistItem, Delivery, GuidanceVisit, VisitForm
from .instructor import Instructor, instructor_units
from .organisation import Organisation, OrgKind
from .registry_import import ImportStatus, RegistryImport
from .stored_file import StoredFile
from .unit import Unit, UnitCategory
from .user import Role, User

__all__ = [
    "AppState", "Application", "ApplicationEvent", "ApplicationMember", "Attachment", "Gender", "MemberStatus",
    "Notification", "PartyOrgKind", "AuditEvent", "Document", "DocumentCounter", "DocumentKind", "Setting",
    "VerificationCheck", "ImportStatus", "RegistryImport", "Assignment", "ChecklistItem", "Delivery",
    "GuidanceVisit", "VisitForm", "instructor_units", "Instructor", "LabelledEnum", "OrgKind", "Organisation",
    "Role", "StoredFile",
    "Unit", "UnitCategory", "User", "db", "utcnow",
]
