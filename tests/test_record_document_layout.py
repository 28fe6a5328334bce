"""The record's 批复 (换届, 换届选举结果, 延期换届, 撤销, 更名, 合并: domain/documents.py RECORD_WORDING) measured in mm
on the PDF against GB/T 9704-2012, with the founding 批复's checks (tests/test_document_layout.py): the same 版头,
title, 22-line grid, signature and 版记, whatever the kind's body."""
import pytest

from domain.documents import record_title
from models import DocumentKind, PartyOrgKind
from tests.test_document_layout import (
    BOTTOM, LEFT, PITCH, TOP, check_banji, check_grid, check_head, check_signature, closing_page, render, ORGAN,
)

NAME = "中共通辽市科尔沁新材料有限公司支部委员会"
NEW_NAME = "中共通辽市科尔沁新材料集团有限公司支部委员会"
RECEIVING = "中共通辽经济技术开发区新型工业园区物流企业联合支部委员会"
REASON = "该公司项目部已撤场，原有党员均已调往其他项目工作，经研究决定撤销该党组织并做好党员组织关系转接工作。"
COMMITTEE = "张建国、李明华、王淑芬同志为新一届委员会委员候选人预备人选，张建国同志为书记候选人预备人选"
ELECTED = f"张建国、李明华、王淑芬同志为{NAME}委员，张建国同志为书记，李明华同志为副书记"

# Each kind: the words of its title, and what its part of templates/pdf/document.html reads (as the verbs pass).
KINDS = {
    DocumentKind.RENEWAL: ({}, {"term_end_day": "2027年3月1日", "planned_day": "2027年2月20日",
                                "candidates_text": COMMITTEE}),
    DocumentKind.RENEWAL_ELECTION: ({}, {"elected_day": "2027年2月20日", "elected_text": ELECTED,
                                         "term_start_day": "2027年2月20日", "term_end_day": "2030年2月20日"}),
    DocumentKind.POSTPONEMENT: ({"change": "延期换届"}, {"old_end_day": "2027年3月1日", "change": "延期换届",
                                                       "new_end_day": "2027年9月1日"}),
    DocumentKind.DISSOLUTION: ({}, {"reason": REASON, "receiving": None, "new_name": None}),
    DocumentKind.RENAME: ({"new_name": NEW_NAME}, {"reason": REASON[:30], "receiving": None, "new_name": NEW_NAME}),
    DocumentKind.MERGE: ({"receiving": RECEIVING}, {"reason": REASON, "receiving": RECEIVING, "new_name": None}),
}


def render_record(kind: DocumentKind, **settings):
    words, context = KINDS[kind]
    title, request_title = record_title(NAME, PartyOrgKind.BRANCH_COMMITTEE, kind, **words)
    made = render(kind, org_kind=PartyOrgKind.BRANCH_COMMITTEE, title_pieces=title,
                  context={**context, "record_name": NAME, "request_title": request_title}, **settings)
    return made, title


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.value)
def test_a_record_document_keeps_the_standards_layout(ctx, kind):
    made, title = render_record(kind)
    first = made.pages[0]
    check_head(first)
    lines = [line.text for line in first.lines if line.size == 22]
    assert "".join(lines) == "".join(title) and lines[-1].endswith("的批复")
    assert not any(line.startswith("的") for line in lines)
    check_grid(made, least_full=1)
    body = [line for line in first.lines if line.size == 16 and TOP <= line.top < BOTTOM]
    opening = next(line for line in body if line.text.startswith(("你委", "你单位", "根据")))
    assert opening.x0 - LEFT == pytest.approx(2 * PITCH, abs=0.15)  # indented two characters
    closing = closing_page(made)
    above = [line for line in closing.lines if TOP <= line.top < closing.find("此复。").top and line.size == 16]
    assert len(above) >= 2  # the closing never stands alone
    check_signature(closing, ORGAN)
    check_banji(made)
    words = made.text
    assert NAME in words and "经党工委研究" in words


def test_a_record_document_with_a_short_organ_signs_four_characters_from_the_right(ctx):
    made, _ = render_record(DocumentKind.POSTPONEMENT, issuing_organ="开发区党工委")
    check_signature(closing_page(made), "开发区党工委")
