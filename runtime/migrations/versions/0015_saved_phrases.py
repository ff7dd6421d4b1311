"""saved phrases: an approver's own comments (常用语)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 02:00:00

"""
from alembic import op
import sqlalchemy as sa

import quire.runtime.models.base


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'saved_phrases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.String(length=500), nullable=False),
        sa.Column('created_at', quire.runtime.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_phrases_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_phrases')),
        sa.UniqueConstraint('user_id', 'text', name='uq_saved_phrases_user_text'),
    )
    with op.batch_alter_table('saved_phrases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_phrases_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('saved_phrases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_phrases_user_id'))
    op.drop_table('saved_phrases')
