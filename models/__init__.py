"""All models, imported here so that Alembic and the app see the whole metadata."""
# The db handle is made in extensions.py; it is named here too, beside the models every query names with it.
from extensions import db

from .application import (
    AppState, Application, ApplicationEvent, ApplicationMember, Attachment, Gender, MemberStatus, Notification,
    PartyOrgKind,
)
from .audit import GENESIS_HASH, AuditChainHead, AuditEvent
from .document import FOUNDING_KINDS, Document, DocumentCounter, DocumentKind, Setting, VerificationCheck
from .fund import (
    CENT, MAX_FUND, MIN_FUND, STAGE_IN_BATCH, BatchState, DisbursementBatch, FundItem, FundPayment, FundStage,
    FundStandard, FundState, PayeeCheckMethod, PaymentKind, fund_stage,
)
from .base import LabelledEnum, clock_set_back, utcnow, wall_clock
from .guidance import Assignment, ChecklistItem, Delivery, GuidanceVisit, VisitForm
from .instructor import Instructor, instructor_units
from .job_run import JobRun, RunStatus
from .organisation import (
    COUNTED, CoverageCause, CoverageChange, CoverageMonth, FormationCount, Organisation, OrgKind,
)
from .party_org import (
    NAME_SUFFIX, CommitteePost, CommitteeSeat, PartyOrg, PartyOrgEvent, PartyOrgState, TermLength, full_name,
)
from .project import THREE_SYNCS, Project
from .outbox import Channel, NoticePreference, OutboxMessage, OutboxStatus
from .registration import CLAIM_LAPSES_AFTER, RegistrationKind, RegistrationReview, RegistrationStatus
from .registry_import import ImportStatus, RegistryImport
from .reminder import SentReminder
from .renewal import OPEN_RENEWAL_STATES, Renewal, RenewalKind, RenewalState
from .stored_file import StoredFile
from .substitution import Substitution
from .todo_export import EXPORT_KEPT_FOR, ExportStatus, TodoExport, export_scope
from .unit import Unit, UnitCategory
from .user import LoginFailure, LoginSession, Role, User

__all__ = [
    "AppState", "Application", "ApplicationEvent", "ApplicationMember", "Assignment", "Attachment", "AuditChainHead",
    "AuditEvent", "CLAIM_LAPSES_AFTER", "CommitteePost", "CommitteeSeat", "FOUNDING_KINDS", "NAME_SUFFIX", "PartyOrg",
    "PartyOrgEvent", "PartyOrgState", "TermLength", "OPEN_RENEWAL_STATES", "Renewal", "RenewalKind", "RenewalState",
    "full_name", "COUNTED", "CoverageCause", "CoverageChange", "CoverageMonth", "FormationCount", "RegistrationKind",
    "RegistrationReview", "RegistrationStatus",
    "BatchState", "Channel", "ChecklistItem", "Delivery", "DisbursementBatch", "Document", "DocumentCounter",
    "DocumentKind",
    "FundItem", "FundPayment", "FundStage", "FundStandard", "FundState", "GENESIS_HASH", "Gender", "GuidanceVisit",
    "ImportStatus", "Instructor", "JobRun", "RunStatus", "STAGE_IN_BATCH", "fund_stage",
    "CENT", "LabelledEnum", "LoginFailure", "LoginSession", "MAX_FUND", "MIN_FUND", "MemberStatus",
    "NoticePreference", "Notification", "OrgKind", "Organisation", "OutboxMessage", "OutboxStatus", "PartyOrgKind",
    "PayeeCheckMethod", "Project", "THREE_SYNCS",
    "PaymentKind", "RegistryImport", "Role", "SentReminder", "Setting", "StoredFile", "Substitution", "Unit",
    "UnitCategory", "User", "EXPORT_KEPT_FOR", "ExportStatus", "TodoExport", "export_scope",
    "VerificationCheck", "VisitForm", "clock_set_back", "db", "instructor_units", "utcnow", "wall_clock",
]
