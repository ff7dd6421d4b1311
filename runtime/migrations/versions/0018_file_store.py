"""file store: files in the database for several machines; export jobs retried once

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 03:30:00

"""
from alembic import op
import sqlalchemy as sa

import quire.runtime.models.base


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stored_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=400), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('updated_at', quire.runtime.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_files')),
        sa.UniqueConstraint('key', name=op.f('uq_stored_files_key')),
    )
    op.create_table(
        'stored_file_chunks',
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'], name=op.f('fk_stored_file_chunks_file_id_stored_files'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('file_id', 'seq', name=op.f('pk_stored_file_chunks')),
    )
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('worker', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', quire.runtime.models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('worker')
        batch_op.drop_column('attempts')
    op.drop_table('stored_file_chunks')
    op.drop_table('stored_files')
