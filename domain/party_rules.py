"""Which Party organisation a member count allows (中国共产党支部工作条例（试行）, the Party Constitution)."""
from models import PartyOrgKind

from . import DomainError

FIELD = "requested_kind"


def check_org_kind(kind: PartyOrgKind, formal: int, probationary: int, *, partners: str = "",
                   work_need: bool = False) -> None:
    """Refuse a kind the member counts do not allow, naming the rule."""
    total = formal + probationary
    if kind is PartyOrgKind.JOINT_BRANCH:
        if formal >= 3:
            raise DomainError("正式党员3人以上的单位，应单独成立党支部，不宜联合组建", FIELD)
        if not partners.strip():
            raise DomainError("成立联合党支部须填写联合组建的邻近单位", "partner_organisations")
        return
    if formal < 3:
        raise DomainError("正式党员不足3人，应与邻近单位联合成立党支部", FIELD)
    if kind is PartyOrgKind.BRANCH and formal >= 7:
        raise DomainError("正式党员7人以上的党支部，应设立党支部委员会", FIELD)
    if kind is PartyOrgKind.BRANCH_COMMITTEE and formal < 7:
        raise DomainError("正式党员不足7人的党支部，不设支部委员会，设书记一名，必要时设副书记", FIELD)
    if kind is PartyOrgKind.GENERAL_BRANCH and total <= 50 and not work_need:
        raise DomainError("党员人数超过50人的，经上级党组织批准可成立党总支；人数不足但因工作需要的，"
                          "请勾选“因工作需要申请”并在申请理由中说明", FIELD)
    if kind is PartyOrgKind.PARTY_COMMITTEE and total < 100:
        raise DomainError("党员人数100人以上的，经上级党组织批准方可成立基层党委", FIELD)


def suggested_kind(formal: int, probationary: int) -> PartyOrgKind:
    """The kind the rules point to for these counts (the form's default)."""
    total = formal + probationary
    if formal < 3:
        return PartyOrgKind.JOINT_BRANCH
    if total >= 100:
        return PartyOrgKind.PARTY_COMMITTEE
    if total > 50:
        return PartyOrgKind.GENERAL_BRANCH
    return PartyOrgKind.BRANCH_COMMITTEE if formal >= 7 else PartyOrgKind.BRANCH


# How many 委员 a committee has (《中国共产党基层组织选举工作条例》第九条): the members' meeting elects them, and they
# elect the 书记 from among themselves. (least, most)
COMMITTEE_SIZE = {
    PartyOrgKind.BRANCH_COMMITTEE: (3, 7),   # 支部委员会由3至5人组成，一般不超过7人
    PartyOrgKind.GENERAL_BRANCH: (5, 9),     # 总支部委员会由5至7人组成，最多不超过9人
    PartyOrgKind.PARTY_COMMITTEE: (5, 11),   # 党的基层委员会由5至9人组成，最多不超过11人
}
