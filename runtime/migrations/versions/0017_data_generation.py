"""data generation: the counter every writing transaction moves (answer cache)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 03:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'data_generation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_generation')),
    )
    op.bulk_insert(table, [{'id': 1, 'n': 0}])


def downgrade():
    op.drop_table('data_generation')
