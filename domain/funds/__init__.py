"""The startup-fund verbs (启动经费): standards, the fund item of each new organisation, batches and payments.

Like the founding verbs, each public function checks who may act, changes state, writes the audit log and
flushes; the request commits. What may happen when is one table per machine (steps: FUND_ITEM, BATCH), which
the verbs, the templates and `flask --app app fund-diagram` read. The verbs live in standards, items (the item and
its payee), batches and payments; queries holds what the pages read. Callers import from `domain.funds`.
"""
from .batches import (
    add_to_batch, approve_batch, check_batch_approval, create_batch, remove_from_batch, return_batch, submit_batch,
)
from .items import (
    PAYEE_FIELDS, FundConfirmation, Payee, check_payee, confirm_fund, create_fund_item, fund_confirmation,
    normalise_payee, return_payee, set_payee,
)
from .payments import AlreadyPaid, record_batch_payment, record_payment, reverse_payment
from .queries import (
    BatchRow, BatchView, ItemFilter, OverviewRow, batch_page, batch_view, batches_to_approve, fund_of, fund_overview,
    fund_row, fund_totals, fundable_items, item_rows, load_batch, pending_funds,
)
from .steps import BATCH, FUND_ITEM, fund_diagrams
from .standards import (
    DEFAULT_FROM, DEFAULT_STANDARDS, RANGE_MESSAGE, ensure_fund_standards, parse_amount, set_fund_standard,
    standard_amount, standard_for, standards_history,
)
