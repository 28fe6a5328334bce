"""Writing to the append-only audit log."""
from typing import Any

from models import AuditEvent, User, db


def record_event(action: str, obj: Any, actor: User | None, summary: str = "", **data: Any) -> AuditEvent:
    """Append one audit event (审计日志) about obj."""
    event = AuditEvent(
        action=action,
        object_type=obj.__tablename__,
        object_id=getattr(obj, "id", None),  # settings are keyed by name, not id
        actor=actor,
        summary=summary,
        data=data,
    )
    db.session.add(event)
    return event
