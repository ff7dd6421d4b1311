"""one access authority: scoped audit events, tasks held through a delegation

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('approval_tasks', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('through_delegation', sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_events_department_id'), ['department_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_audit_events_department_id_departments'), 'departments', ['department_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_events_department_id_departments'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_audit_events_department_id'))
        batch_op.drop_column('department_id')

    with op.batch_alter_table('approval_tasks', schema=None) as batch_op:
        batch_op.drop_column('through_delegation')
