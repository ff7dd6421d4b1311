"""template drafts: version counter, revisions (the designer's operation stream), publish notes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 17:45:00.000000

"""
from alembic import op
import sqlalchemy as sa

import quire.runtime.models.base  # noqa: F401  (column types)


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('draft_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ops', sa.JSON(), nullable=True),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', quire.runtime.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_draft_revisions_actor_id_users')),
    sa.ForeignKeyConstraint(['template_id'], ['form_templates.id'], name=op.f('fk_draft_revisions_template_id_form_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draft_revisions')),
    sa.UniqueConstraint('template_id', 'version', name='uq_draft_revisions_version')
    )
    with op.batch_alter_table('draft_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_revisions_template_id'), ['template_id'], unique=False)

    with op.batch_alter_table('form_templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draft_version', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('template_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.String(length=2000), nullable=True))


def downgrade():
    with op.batch_alter_table('template_versions', schema=None) as batch_op:
        batch_op.drop_column('note')

    with op.batch_alter_table('form_templates', schema=None) as batch_op:
        batch_op.drop_column('draft_version')

    with op.batch_alter_table('draft_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_revisions_template_id'))

    op.drop_table('draft_revisions')
