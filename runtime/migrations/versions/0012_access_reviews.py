"""access reviews: campaigns, one item per grant, and the access.review permission

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 21:00:00

"""
from alembic import op
import sqlalchemy as sa

import quire.runtime.models.base  # noqa: F401  (column types)


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('access_review_campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('scope_kind', sa.String(length=32), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('remind_days', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('recurrence', sa.String(length=16), nullable=True),
    sa.Column('next_run_on', sa.Date(), nullable=True),
    sa.Column('repeated_from_id', sa.Integer(), nullable=True),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('started_at', quire.runtime.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', quire.runtime.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_access_review_campaigns_department_id_departments')),
    sa.ForeignKeyConstraint(['repeated_from_id'], ['access_review_campaigns.id'], name=op.f('fk_access_review_campaigns_repeated_from_id_access_review_campaigns')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_access_review_campaigns_started_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_review_campaigns'))
    )
    with op.batch_alter_table('access_review_campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_review_campaigns_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_review_campaigns_next_run_on'), ['next_run_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_review_campaigns_status'), ['status'], unique=False)

    op.create_table('access_review_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('grantee_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('escalated_to_id', sa.Integer(), nullable=True),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('narrowed_to', sa.JSON(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', quire.runtime.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', quire.runtime.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', quire.runtime.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['access_review_campaigns.id'], name=op.f('fk_access_review_items_campaign_id_access_review_campaigns')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_access_review_items_decided_by_id_users')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_access_review_items_department_id_departments')),
    sa.ForeignKeyConstraint(['escalated_to_id'], ['users.id'], name=op.f('fk_access_review_items_escalated_to_id_users')),
    sa.ForeignKeyConstraint(['grant_id'], ['role_grants.id'], name=op.f('fk_access_review_items_grant_id_role_grants')),
    sa.ForeignKeyConstraint(['grantee_id'], ['users.id'], name=op.f('fk_access_review_items_grantee_id_users')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_access_review_items_reviewer_id_users')),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_access_review_items_role_id_roles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_review_items')),
    sa.UniqueConstraint('campaign_id', 'grant_id', name=op.f('uq_access_review_items_campaign_id'))
    )
    with op.batch_alter_table('access_review_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_review_items_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_review_items_escalated_to_id'), ['escalated_to_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_review_items_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_review_items_grantee_id'), ['grantee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_review_items_reviewer_id'), ['reviewer_id'], unique=False)

    _grant_review_permission(add=True)



def downgrade():
    _grant_review_permission(add=False)

    with op.batch_alter_table('access_review_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_review_items_reviewer_id'))
        batch_op.drop_index(batch_op.f('ix_access_review_items_grantee_id'))
        batch_op.drop_index(batch_op.f('ix_access_review_items_grant_id'))
        batch_op.drop_index(batch_op.f('ix_access_review_items_escalated_to_id'))
        batch_op.drop_index(batch_op.f('ix_access_review_items_campaign_id'))

    op.drop_table('access_review_items')
    with op.batch_alter_table('access_review_campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_review_campaigns_status'))
        batch_op.drop_index(batch_op.f('ix_access_review_campaigns_next_run_on'))
        batch_op.drop_index(batch_op.f('ix_access_review_campaigns_department_id'))

    op.drop_table('access_review_campaigns')


#: Roles that run access reviews in an installation made before this revision.
REVIEWING_ROLES = ("finance_admin", "auditor")
REVIEW = "access.review"


def _grant_review_permission(*, add: bool) -> None:
    """Finance administrators and auditors start access reviews: give their roles (where an
    installation has them) the new ``access.review`` permission, or take it back."""
    roles = sa.table("roles", sa.column("id", sa.Integer), sa.column("key", sa.String),
                     sa.column("permissions", sa.JSON))
    conn = op.get_bind()
    for role_id, permissions in conn.execute(
        sa.select(roles.c.id, roles.c.permissions).where(roles.c.key.in_(REVIEWING_ROLES))
    ):
        held = [p for p in (permissions or []) if p != REVIEW]
        if add:
            held = sorted([*held, REVIEW])
        conn.execute(roles.update().where(roles.c.id == role_id).values(permissions=held))
