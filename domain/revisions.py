"""What a resubmitted application changed since the version an official returned (退回后的修改内容).

A return keeps a snapshot of the application as the returning official saw it, on the return's history row: the
fields, the member rows, the attachments by name and file fingerprint. When the applicant resubmits, the reviewer
and the zone read what changed beside the return reason, instead of comparing the whole application by memory.
"""
from dataclasses import dataclass, field
from datetime import date

from models import AppState, Application, ApplicationEvent, Gender, MemberStatus, PartyOrgKind

from .facts import chinese_date

RETURNS = ("return", "zone_return")
# The states in which officials review a resubmission; before it the applicant is still editing, after it the
# application was decided and the last return is history.
UNDER_REVIEW = (AppState.SUBMITTED, AppState.UNIT_APPROVED)

# The application's own fields, in the card's order, with the words the card uses for them.
FIELDS = (
    ("requested_kind", "申请成立"),
    ("formal_members", "正式党员人数"),
    ("probationary_members", "预备党员人数"),
    ("proposed_secretary", "拟任书记"),
    ("partner_organisations", "联合组建单位"),
    ("work_need", "因工作需要申请"),
    ("reasons", "申请理由"),
)
MEMBER_FIELDS = (("gender", "性别"), ("joined_on", "入党日期"), ("status", "类别"))


def snapshot_of(application: Application) -> dict:
    """The application's fields, members and attachments as plain JSON values (enum values, ISO dates)."""
    values = {name: getattr(application, name) for name, _ in FIELDS}
    values["requested_kind"] = application.requested_kind.value
    return {
        "fields": values,
        "members": [{"name": m.name, "gender": m.gender.value, "joined_on": m.joined_on.isoformat(),
                     "status": m.status.value} for m in application.members],
        "attachments": [{"filename": a.file.filename, "sha256": a.file.sha256} for a in application.attachments],
    }


@dataclass(frozen=True)
class Change:
    """One value that changed: what it is, and its old and new wording."""

    label: str
    old: str
    new: str


@dataclass(frozen=True)
class MemberChange:
    """A member listed in both versions (matched by name) whose gender, join date or category changed."""

    name: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class FileRef:
    filename: str
    sha256: str


@dataclass
class Changes:
    """The difference between a returned version and the resubmitted one."""

    fields: list[Change] = field(default_factory=list)
    members_added: list[str] = field(default_factory=list)
    members_removed: list[str] = field(default_factory=list)
    members_changed: list[MemberChange] = field(default_factory=list)
    attachments_added: list[FileRef] = field(default_factory=list)
    attachments_removed: list[FileRef] = field(default_factory=list)

    @property
    def none(self) -> bool:
        return not (self.fields or self.members_added or self.members_removed or self.members_changed
                    or self.attachments_added or self.attachments_removed)


def diff_versions(old: dict, new: dict) -> Changes:
    """What changed from snapshot `old` to snapshot `new` (both from snapshot_of).

    Members are matched by name: rows that are the same in both cancel out, and of the rest a name found in both
    versions is a changed member (in list order where two members share a name); the others were added or
    removed. Attachments are matched by fingerprint: the same bytes under another name are the same file, and a
    file replaced under the same name is one removed and one added."""
    changes = Changes()
    for name, label in FIELDS:
        before, after = old["fields"].get(name), new["fields"].get(name)
        if _field_text(name, before) != _field_text(name, after):
            changes.fields.append(Change(label, _field_text(name, before), _field_text(name, after)))

    removed, added = _without_common(old["members"], new["members"])
    for row in list(added):
        same_name = next((r for r in removed if r["name"] == row["name"]), None)
        if same_name is not None:
            removed.remove(same_name)
            added.remove(row)
            changes.members_changed.append(MemberChange(row["name"], tuple(
                Change(label, _member_value(key, same_name[key]), _member_value(key, row[key]))
                for key, label in MEMBER_FIELDS if same_name[key] != row[key])))
    changes.members_added = [_member_text(r) for r in added]
    changes.members_removed = [_member_text(r) for r in removed]

    old_files = {f["sha256"]: f for f in old["attachments"]}
    new_files = {f["sha256"]: f for f in new["attachments"]}
    changes.attachments_added = [FileRef(f["filename"], f["sha256"]) for k, f in new_files.items()
                                 if k not in old_files]
    changes.attachments_removed = [FileRef(f["filename"], f["sha256"]) for k, f in old_files.items()
                                   if k not in new_files]
    return changes


@dataclass(frozen=True)
class Resubmission:
    """The return a resubmitted application answers, and what the applicant changed (None: the return predates
    the snapshots, so there is nothing to compare with)."""

    returned: ApplicationEvent
    changes: Changes | None


def resubmission_of(application: Application) -> Resubmission | None:
    """While officials review a resubmitted application: its latest return and what changed since."""
    if application.state not in UNDER_REVIEW:
        return None
    returned, resubmitted = None, False
    for event in application.history:
        if event.action in RETURNS:
            returned, resubmitted = event, False
        elif event.action == "submit":
            resubmitted = returned is not None
    if returned is None or not resubmitted:
        return None
    changes = diff_versions(returned.snapshot, snapshot_of(application)) if returned.snapshot else None
    return Resubmission(returned, changes)


def _without_common(old: list[dict], new: list[dict]) -> tuple[list[dict], list[dict]]:
    """The rows of old not in new and of new not in old, each identical pair cancelling once."""
    remaining = list(old)
    added = []
    for row in new:
        if row in remaining:
            remaining.remove(row)
        else:
            added.append(row)
    return remaining, added


def _field_text(name: str, value) -> str:
    if name == "requested_kind":
        return PartyOrgKind(value).label if value in PartyOrgKind._value2member_map_ else str(value or "")
    if name == "work_need":
        return "是" if value else "否"
    if name in ("formal_members", "probationary_members"):
        return f"{value or 0} 名"
    return (value or "").strip() or "（未填写）"


def _member_value(key: str, value: str) -> str:
    if key == "gender":
        return Gender(value).label
    if key == "status":
        return MemberStatus(value).label
    return chinese_date(date.fromisoformat(value))


def _member_text(row: dict) -> str:
    return (f"{row['name']}（{_member_value('gender', row['gender'])}，{_member_value('joined_on', row['joined_on'])}"
            f"入党，{_member_value('status', row['status'])}）")
