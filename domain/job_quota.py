"""How much queued work one user may ask for at a time and in a day: the tasks a request queues (a to-do export, a
registry file's check) cost a consumer seconds to a minute each and keep a file, while asking costs the request
almost nothing. Without a cap one user's script could fill the queue for everyone and the disk with files."""
from datetime import timedelta

import sqlalchemy as sa

from models import User, db, utcnow

from . import DomainError

UNFINISHED_MAX = 2  # of one kind, waiting or being done: an export or a check at a time, and one more asked
DAY_MAX = 30  # of one kind in the last 24 hours: a day's real use (re-exporting, re-uploading a corrected file)
DAY = timedelta(hours=24)


def refuse_over_quota(model, actor: User, unfinished: sa.ColumnElement[bool], *, asked: str, working: str,
                      field: str | None = None) -> None:
    """Refuse (DomainError, on `field`) one more of `model`'s tasks for `actor` when they already have
    UNFINISHED_MAX of them `unfinished`, or asked for DAY_MAX in the last day. `asked` names the verb (导出),
    `working` what the unfinished ones are doing (排队或生成)."""
    waiting, today = db.session.execute(
        sa.select(sa.func.count().filter(unfinished), sa.func.count()).select_from(model)
        .where(model.created_by_id == actor.id, model.created_at >= utcnow() - DAY)).one()
    if waiting >= UNFINISHED_MAX:
        raise DomainError(f"您已有 {waiting} 个{asked}正在{working}，请等其完成后再{asked}", field)
    if today >= DAY_MAX:
        raise DomainError(f"24 小时内最多{asked} {DAY_MAX} 次，请稍后再试", field)
