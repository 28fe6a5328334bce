"""How one audit row is sealed (审计日志的密封): an HMAC under AUDIT_KEY over its content and the previous row's hash.
Beneath both the chain (domain/audit.py) and the money fields' records it checks (domain/sealed_fields.py)."""
import hashlib
import hmac
import json
from datetime import timezone
from typing import Any

from flask import current_app

from models.audit import LEGACY_SCHEME


def audit_key() -> bytes:
    return current_app.config["AUDIT_KEY"].encode()


def event_hash(row: Any, key: bytes | None = None) -> str:
    """The row's seal: HMAC-SHA256 under AUDIT_KEY over its content and the previous row's hash, in one fixed text
    form; a row of the old scheme keeps the plain SHA-256 it was given."""
    content = {
        "seq": row.seq, "at": row.at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
        "actor_id": row.actor_id,
        "action": row.action, "object_type": row.object_type, "object_id": row.object_id,
        "summary": row.summary, "data": row.data, "prev_hash": row.prev_hash,
    }
    if row.scheme == LEGACY_SCHEME:
        return hashlib.sha256(_canonical(content)).hexdigest()
    content["scheme"] = row.scheme  # sealed too: a row cannot be moved to the old scheme without breaking its seal
    return hmac.new(key or audit_key(), _canonical(content), hashlib.sha256).hexdigest()


def _canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
