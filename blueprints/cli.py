"""Command-line verbs: `flask --app app seed-demo`, `flask --app app seed-reference`."""
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Blueprint, current_app

from domain.accounts import DEMO_PASSWORD
from domain.funds import ensure_fund_standards
from domain.reference import ensure_units
from models import User, db
from seeding.demo import seed_demo

bp = Blueprint("cli", __name__, cli_group=None)


@bp.cli.command("seed-reference")
def seed_reference_command():
    """Create the reference data every installation needs (the nine units, the fund standards)."""
    ensure_units()
    ensure_fund_standards()
    db.session.commit()
    click.echo("参考数据已就绪（九个初审单位、启动经费标准）。")


@bp.cli.command("create-admin")
@click.argument("username")
@click.option("--name", default="系统管理员", show_default=True, help="The name shown for the account.")
def create_admin_command(username: str, name: str):
    """Create an active administrator, e.g. a new installation's first: the password is typed twice without echo, or
    read from ADMIN_PASSWORD when that is set (for automation)."""
    import os

    from domain import DomainError
    from domain.accounts import create_admin

    password = os.environ.get("ADMIN_PASSWORD")
    if password is None:
        password = click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    try:
        user = create_admin(username, password, name=name)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    click.echo(f"已创建系统管理员 {user.username}，可用该密码登录。")


@bp.cli.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only seed a database that has no accounts yet.")
def seed_demo_command(if_empty: bool):
    """Create the demo data and accounts; running it again changes nothing."""
    if current_app.config["ENV_NAME"] not in ("development", "testing"):
        raise click.ClickException("生产环境禁止写入演示数据：只有 APP_ENV 为 development 或 testing 时才能执行 "
                                   "(seed-demo runs only in development and testing)")
    if if_empty and db.session.scalar(sa.select(User.id).limit(1)) is not None:
        click.echo("数据库中已有账号，跳过演示数据。")
        return
    created = seed_demo()
    db.session.commit()
    click.echo(f"演示数据已就绪：新建 {created} 条记录。所有演示账号的密码均为 {DEMO_PASSWORD}")


@bp.cli.command("workflow-diagram")
@click.option("--renewal", is_flag=True, help="The 换届 and 延期/提前换届 table instead of the founding one.")
@click.option("--record", is_flag=True, help="The record's steps (补选, 调整, 更名, 撤销...) instead of the founding ones.")
def workflow_diagram_command(renewal: bool, record: bool):
    """Print the founding workflow (or, with --renewal, the 换届 one; with --record, the record's steps) as Mermaid
    stateDiagram-v2 text, drawn from its table."""
    from domain.party_orgs import record_mermaid, renewal_mermaid
    from domain.workflow import mermaid

    click.echo(renewal_mermaid() if renewal else record_mermaid() if record else mermaid())


@bp.cli.command("fund-diagram")
def fund_diagram_command():
    """Print the fund item's and the batch's steps as Mermaid stateDiagram-v2 text, drawn from their tables."""
    from domain.funds import fund_diagrams

    click.echo("\n\n".join(fund_diagrams()))


@bp.cli.command("seed-scale")
@click.option("--orgs", default=11000, show_default=True, help="Organisations to add to the registry.")
@click.option("--applications", default=5000, show_default=True, help="Applications (with histories) to add.")
def seed_scale_command(orgs: int, applications: int):
    """Add realistic data at the zone's scale, in bulk, for benchmarks (`make bench`).

    Organisations across the nine units and five kinds, applications in every state with their history,
    instructors with current (and some ended) assignments, visits and 六建六送 deliveries for established ones,
    and a numbered 批复 for every approved one. Those documents store a small placeholder PDF, not a rendered
    one (rendering thousands takes minutes; bench/bench_pdf.py times the real rendering)."""
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("生产环境禁止写入压测数据 (seed-scale refuses a production configuration)")
    from seeding.scale import seed_scale

    counts = seed_scale(orgs, applications)
    db.session.commit()
    click.echo("压测数据已写入：" + "，".join(f"{k} {v}" for k, v in counts.items()))


@bp.cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path):
    """Back the whole database up to PATH (uploads and issued documents included), with PATH.manifest.json."""
    from domain import DomainError
    from domain.backup import backup_database, manifest_path

    try:
        manifest = backup_database(path)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"已备份到 {path}（{path.stat().st_size} 字节，仅属主可读），清单 {manifest_path(path).name}："
               f"数据库版本 {manifest['schema_revision']}，审计链尾 {manifest['audit_head'] or '无'}")


@bp.cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Confirm that the current data is to be replaced.")
@click.option("--force", is_flag=True, help="Restore even though document numbers already issued would be reused, "
                                           "or audit rows the live database has would be lost.")
@click.option("--reason", default="", help="Why a forced restore is needed; written to the audit log.")
def restore_command(path: Path, yes: bool, force: bool, reason: str):
    """Replace the database's contents with the backup at PATH, once its manifest checks out; then verify the audit
    log (exit status 1 if the restored data does not check out)."""
    from domain import DomainError
    from domain.backup import restore_database

    if not yes:
        raise click.ClickException("恢复会覆盖当前全部数据；确认无误后请加 --yes 再执行")
    try:
        outcome = restore_database(path, force=force, reason=reason)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"已从 {path} 恢复（备份于 {outcome.manifest['made_at']}，数据库版本 {outcome.manifest['schema_revision']}）。")
    if outcome.rewound:
        click.echo("已按 --force 强制恢复，原因已写入审计日志；发文字号倒退：" + "；".join(outcome.rewound))
    if outcome.audit_dropped:
        click.echo(f"已按 --force 强制恢复，原因和恢复前的审计链尾已写入审计日志；{outcome.audit_dropped}")
    if outcome.counts_differ:
        raise click.ClickException("恢复后的行数与备份清单不符：" + "；".join(outcome.counts_differ))
    if not outcome.report.intact:
        raise click.ClickException("恢复后的" + _chain_failure(outcome.report))
    reaches = "，到达备份时的链尾" if outcome.manifest["audit_head"] else ""
    click.echo(f"恢复后核对通过：行数与备份清单一致；审计日志共 {outcome.report.rows} 条，哈希链完整{reaches}，"
               "资金字段与记录一致。")


@bp.cli.command("verify-audit")
@click.option("--head", "head_text", metavar="SEQ:HMAC",
              help="The head printed earlier by audit-head, kept outside the database: the chain must still reach it.")
def verify_audit_command(head_text: str | None):
    """Check the audit log's keyed hash chain, and the fields that move money against what it recorded for them."""
    from domain.audit import parse_head, verify_chain

    try:
        head = parse_head(head_text) if head_text else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--head") from None
    report = verify_chain(head=head)
    if not report.intact:
        raise click.ClickException(_chain_failure(report))
    reaches = f"，仍到达库外保存的第 {head[0]} 条" if head else ""
    click.echo(f"审计日志完整：共 {report.rows} 条，哈希链首尾相接{reaches}，资金字段与记录一致，未发现改动。")


@bp.cli.command("audit-head")
def audit_head_command():
    """Print the audit chain's head (seq:HMAC of its last row), once the chain checks out, to keep outside the database.

    A nightly `flask --app app audit-head >> /elsewhere/audit-heads.log` lets `verify-audit --head` later prove
    that nobody cut the newest rows off and moved the head back."""
    from domain.audit import format_head, verify_chain

    report = verify_chain()
    if not report.intact:
        raise click.ClickException(_chain_failure(report) + "；链尾未打印")
    if report.head is None:
        raise click.ClickException("审计日志还没有任何记录，没有链尾可打印")
    click.echo(format_head(report.head))


def _chain_failure(report) -> str:
    """The failure in words: the chain's first break, then each covered field that differs (the first 50)."""
    lines = [f"审计日志校验未通过（已核对 {report.rows} 条）：{report.problem}"] if report.problem else [
        f"资金字段与审计记录不符（已核对 {report.rows} 条审计记录）："]
    if report.changes:
        if report.problem:
            lines.append("资金字段与审计记录不符：")
        lines.extend(f"  {change}" for change in report.changes[:50])
        if len(report.changes) > 50:
            lines.append(f"  ……另有 {len(report.changes) - 50} 处")
    return "\n".join(lines)
