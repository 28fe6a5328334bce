"""The checks every fund verb makes first: who acts, and whether the page they acted on is still current.

Fund items and batches carry an optimistic lock (`version`), so two clicks, two tabs or two finance users
cannot record one payment twice.
"""
from models import DisbursementBatch, FundItem, Role, User

from .. import DomainError, StaleError


def require_finance(actor: User) -> None:
    if actor.role is not Role.FINANCE:
        raise DomainError("只有财务人员可以办理经费拨付")


def check_version(obj: FundItem | DisbursementBatch, version: int) -> None:
    if obj.version != version:
        raise StaleError("该事项已被他人处理或在其他页面修改，页面已更新为最新内容，本次操作未执行。")
