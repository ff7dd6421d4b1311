"""submission amendments: the approved revision that replaced a submission

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 00:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('superseded_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_submissions_superseded_by_id_submissions'),
            'submissions',
            ['superseded_by_id'],
            ['id'],
        )
        batch_op.create_index(
            batch_op.f('ix_submissions_superseded_by_id'), ['superseded_by_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submissions_superseded_by_id'))
        batch_op.drop_constraint(
            batch_op.f('fk_submissions_superseded_by_id_submissions'), type_='foreignkey'
        )
        batch_op.drop_column('superseded_by_id')
