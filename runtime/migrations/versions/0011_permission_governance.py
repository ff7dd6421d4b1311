"""permission governance: role owners and risk, grants from access requests, SoD rules

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 21:00:00

"""
from alembic import op
import sqlalchemy as sa

import quire.runtime.models.base  # noqa: F401  (column types)


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('roles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_role_key', sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column('high_risk', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column('security_approver_role_key', sa.String(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column('temporary_only', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column('max_days', sa.Integer(), nullable=True))

    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_submission_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('last_used_at', quire.runtime.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column('expiry_reminded_at', quire.runtime.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f('ix_role_grants_request_submission_id'), ['request_submission_id'], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_role_grants_request_submission_id_submissions'),
            'submissions', ['request_submission_id'], ['id'],
        )

    op.create_table('sod_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name_zh', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('left_permissions', sa.JSON(), nullable=False),
    sa.Column('right_permissions', sa.JSON(), nullable=False),
    sa.Column('same_department', sa.Boolean(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', quire.runtime.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_sod_rules_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sod_rules')),
    sa.UniqueConstraint('key', name=op.f('uq_sod_rules_key'))
    )

    op.create_table('sod_exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', quire.runtime.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_until', quire.runtime.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('submission_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_sod_exceptions_approved_by_id_users')),
    sa.ForeignKeyConstraint(['rule_id'], ['sod_rules.id'], name=op.f('fk_sod_exceptions_rule_id_sod_rules')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_sod_exceptions_submission_id_submissions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sod_exceptions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sod_exceptions'))
    )
    with op.batch_alter_table('sod_exceptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sod_exceptions_rule_id'), ['rule_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sod_exceptions_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sod_exceptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sod_exceptions_user_id'))
        batch_op.drop_index(batch_op.f('ix_sod_exceptions_rule_id'))

    op.drop_table('sod_exceptions')
    op.drop_table('sod_rules')

    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_role_grants_request_submission_id_submissions'), type_='foreignkey'
        )
        batch_op.drop_index(batch_op.f('ix_role_grants_request_submission_id'))
        batch_op.drop_column('expiry_reminded_at')
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('request_submission_id')

    with op.batch_alter_table('roles', schema=None) as batch_op:
        batch_op.drop_column('max_days')
        batch_op.drop_column('temporary_only')
        batch_op.drop_column('security_approver_role_key')
        batch_op.drop_column('high_risk')
        batch_op.drop_column('owner_role_key')
