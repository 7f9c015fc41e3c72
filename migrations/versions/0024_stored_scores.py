"""0024_stored_scores (issue 15: Deploy)

Each submitted review keeps its reviewer total T (an exact fraction: numerator and denominator)
so the ranking screen reads two integers per review instead of re-summing every review's scores.
The backfill computes T with the pure scoring module (grants.reviews.scoring.reviewer_total), the
ranking's single source of truth.

Revision ID: 0024_stored_scores
Revises: 0023_security_findings
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0024_stored_scores"
down_revision = "0023_security_findings"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.add_column(sa.Column("total_numerator", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("total_denominator", sa.BigInteger(), nullable=True))
    _backfill()


def _backfill():
    from grants.reviews import scoring

    conn = op.get_bind()
    criteria: dict[int, list] = {}
    for call_id, key, weight, max_score in conn.execute(
        sa.text("SELECT call_id, key, weight, max_score FROM criterion ORDER BY call_id, position")
    ):
        criteria.setdefault(call_id, []).append(scoring.Criterion(key, weight, max_score))
    rows = conn.execute(
        sa.text(
            "SELECT review.id, review.scores, application.call_id FROM review "
            "JOIN assignment ON assignment.id = review.assignment_id "
            "JOIN application ON application.id = assignment.application_id "
            "WHERE review.submitted_at IS NOT NULL"
        )
    ).all()
    params = []
    for review_id, scores, call_id in rows:
        if isinstance(scores, str):
            scores = json.loads(scores)
        try:
            total = scoring.reviewer_total(scores or {}, tuple(criteria.get(call_id, ())))
        except ValueError:
            continue  # left to the ranking, which totals an untotalled review when it reads it
        params.append({"rid": review_id, "n": total.numerator, "d": total.denominator})
    if params:
        conn.execute(sa.text("UPDATE review SET total_numerator = :n, total_denominator = :d WHERE id = :rid"), params)


def downgrade():
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_column("total_denominator")
        batch_op.drop_column("total_numerator")
