from flask import Blueprint, render_template, request
from sqlalchemy.orm import joinedload

from ..accounts.models import Role
from ..core.access import role_required
from ..extensions import db
from .models import AuditEvent

bp = Blueprint("audit", __name__)


@bp.route("/manage/audit")
@role_required(Role.MANAGER, Role.ADMIN)
def index():
    query = db.select(AuditEvent).options(joinedload(AuditEvent.actor)).order_by(AuditEvent.id.desc())
    object_type = request.args.get("object_type", "").strip()
    object_id = request.args.get("object_id", type=int)
    action = request.args.get("action", "").strip()
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id:
        query = query.where(AuditEvent.object_id == object_id)
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    page = db.paginate(query, per_page=50, error_out=False)
    return render_template(
        "audit/index.html", page=page, object_type=object_type, object_id=object_id or "", action=action
    )
