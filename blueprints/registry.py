"""The registry (摸底) and the formation-rate dashboard: imports, rates, the committee's to-do lists.

The zone approver and the admin see the whole zone; a unit reviewer sees their unit only. Imports are for
the admin and unit reviewers.
"""
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from domain import DomainError
from domain.dashboard import (
    COVERAGE_NOTE, DEFINITION, TODO_LISTS, TodoFilter, build_dashboard, dashboard_xlsx, todo_page,
)
from domain.reference import unit_choices
from domain.todo_exports import (
    EXPIRED as EXPORT_EXPIRED, INTERRUPTED as EXPORT_INTERRUPTED, enqueue_todo_export, export_interrupted,
    recent_todo_exports, request_todo_export,
)
from domain.registry_import import (
    COLUMNS, EXPIRED, enqueue_registry_check, enqueue_registry_import, import_progress, recent_imports,
    start_registry_import, template_csv, template_xlsx, upload_registry_file,
)
from domain.workbooks import dated_name
from domain.zone_time import local_date, local_today
from models import ExportStatus, ImportStatus, OrgKind, RegistryImport, Role, TodoExport, Unit, db

from . import answer, page_arg, render_partial, role_wall, run_verb, send_download
from .forms import EmptyForm, RegistryImportForm

bp = Blueprint("registry", __name__, url_prefix="/registry")
role_wall(bp)

def scope() -> Unit | None:
    """The unit whose figures the user sees: a reviewer's own, or None for the whole zone."""
    return current_user.unit if current_user.role is Role.UNIT_REVIEWER else None


def export_name(*parts: str, extension: str = ".xlsx") -> tuple[str, str]:
    """An export's file name ending in the zone's date (组建率-2026年12月5日.xlsx), and that date for its fallback."""
    return dated_name(*parts, extension=extension), local_today().isoformat()


def may_import() -> None:
    if current_user.role not in (Role.ADMIN, Role.UNIT_REVIEWER):
        abort(403)


def load_import(import_id: int) -> RegistryImport:
    may_import()
    job = db.get_or_404(RegistryImport, import_id)
    if not job.can_view(current_user):
        abort(404)
    return job


# ---------------------------------------------------------------- dashboard

@bp.get("/")
def dashboard():
    return render_template("registry/dashboard.html", d=build_dashboard(scope()), definition=DEFINITION,
                           coverage_note=COVERAGE_NOTE)


@bp.get("/dashboard.xlsx")
def dashboard_export():
    unit = scope()
    name, day = export_name("组建率", unit.name if unit else "")
    return send_download(dashboard_xlsx(build_dashboard(unit)), name, fallback=f"dashboard-{day}")


def todo_filter() -> TodoFilter:
    """The to-do list's filters from the query: a value that is none of those offered means no filter."""
    unit_id = request.args.get("unit_id", type=int)
    listed = request.args.get("list", "build")
    kind = request.args.get("kind", "")
    return TodoFilter(list=listed if listed in TODO_LISTS else "build",
                      unit_id=unit_id if unit_id in {u.id for u in unit_choices()} else None,
                      kind=kind if kind in OrgKind._value2member_map_ else "", q=request.args.get("q", ""),
                      page=page_arg())


@bp.get("/todo")
def todo():
    f = todo_filter()
    page = todo_page(f, scope(), per_page=current_app.config["PAGE_SIZE"])
    return render_partial("registry/todo.html", "registry/_todo_table.html",
                          lambda: {"units": [] if scope() else unit_choices(),
                                   "recent_exports": recent_todo_exports(current_user)},
                          page=page, f=f, lists=TODO_LISTS, kinds=OrgKind, form=EmptyForm(), statuses=ExportStatus)


def load_export(export_id: int) -> TodoExport:
    export = db.get_or_404(TodoExport, export_id)
    if not export.can_view(current_user):
        abort(404)
    return export


def render_export(export: TodoExport, status: int = 200, done: str | None = None):
    """The export's state (the partial that polls while it is written), or the page around it."""
    context = dict(export=export, statuses=ExportStatus, lists=TODO_LISTS, interrupted=export_interrupted(export),
                   interrupted_message=EXPORT_INTERRUPTED, expired_message=EXPORT_EXPIRED)
    return answer(status, lambda: render_template("registry/_todo_export.html", **context),
                  lambda: render_template("registry/todo_export.html", **context), done=done)


@bp.post("/todo/exports")
def start_todo_export():
    """The filters come as the list page's query, taken as they are: a value it does not offer is refused."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    f = TodoFilter(list=request.args.get("list", "build"), unit_id=request.args.get("unit_id", type=int),
                   kind=request.args.get("kind", ""), q=request.args.get("q", ""))
    try:
        export = request_todo_export(f, scope(), actor=current_user)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        return answer(422, lambda: render_template("errors/_alert.html", message=error.message),
                      lambda: render_template("errors/error.html", code=422, message=error.message))
    enqueue_todo_export(export)
    return render_export(db.session.get(TodoExport, export.id),
                         done=url_for("registry.show_todo_export", export_id=export.id))


@bp.get("/todo/exports/<int:export_id>")
def show_todo_export(export_id: int):
    return render_export(load_export(export_id))


@bp.get("/todo/exports/<int:export_id>.xlsx")
def todo_export_download(export_id: int):
    export = load_export(export_id)
    if export.expired or export.file is None:
        return render_export(export, 410 if export.expired else 409)
    return send_download(export.file.data, export.file.filename,
                         fallback=f"todo-{export.list}-{local_date(export.created_at).isoformat()}")


# ---------------------------------------------------------------- imports

@bp.route("/imports", methods=["GET", "POST"])
def imports():
    may_import()
    form, status = RegistryImportForm(), 200
    if form.validate_on_submit():
        upload, jobs = form.file.data, []
        status, _ = run_verb(lambda: jobs.append(upload_registry_file(upload.filename, upload.read(),
                                                                      actor=current_user)), None, form, validate=False)
        if status == 200:
            enqueue_registry_check(jobs[0])
            return redirect(url_for("registry.show_import", import_id=jobs[0].id))
    elif form.is_submitted():
        status = 422  # no file, or not one of the kinds taken: the form says which
    return render_template("registry/imports.html", form=form, columns=COLUMNS,
                           jobs=recent_imports(current_user)), status


@bp.get("/imports/template.xlsx")
def template_download():
    may_import()
    return send_download(template_xlsx(), "摸底表模板.xlsx", fallback="registry-template")


@bp.get("/imports/template.csv")
def template_csv_download():
    may_import()
    return send_download(template_csv(), "摸底表模板.csv", fallback="registry-template",
                         mimetype="text/csv; charset=utf-8")


@bp.get("/imports/<int:import_id>")
def show_import(import_id: int):
    job = load_import(import_id)
    return render_partial("registry/import.html", "registry/_import_status.html", job=job,
                          progress=import_progress(job), form=EmptyForm(), statuses=ImportStatus,
                          expired_message=EXPIRED)


@bp.post("/imports/<int:import_id>/commit")
def commit_import(import_id: int):
    job = load_import(import_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if run_verb(lambda: start_registry_import(job, actor=current_user), None, conflicts=())[0] == 200:
        enqueue_registry_import(job)
    return redirect(url_for("registry.show_import", import_id=import_id))
