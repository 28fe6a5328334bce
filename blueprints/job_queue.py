"""The job queue as the admin sees it (任务队列): waiting, running and failed tasks, and retrying a failed one."""
from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user

from jobs import label_of
from domain.job_runs import retry_run
from jobs.runs import enqueue_again, queue_view
from models import JobRun, RunStatus, db

from . import role_wall, run_verb
from .forms import EmptyForm

bp = Blueprint("job_queue", __name__, url_prefix="/admin/jobs")
role_wall(bp)


@bp.get("/")
def overview():
    return render_template("admin/jobs.html", q=queue_view(), label_of=label_of, statuses=RunStatus,
                           form=EmptyForm())


@bp.post("/runs/<int:run_id>/retry")
def retry(run_id: int):
    run = db.get_or_404(JobRun, run_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    status, _ = run_verb(lambda: retry_run(run, actor=current_user), f"已重新排队：{label_of(run.name)}。")
    if status == 200:
        enqueue_again(run)
    return redirect(url_for("job_queue.overview"))
