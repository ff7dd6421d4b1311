"""approval actions: signers added by an approver (加签), copies (抄送)

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-29 21:30:00

"""
from alembic import op
import sqlalchemy as sa

import quire.runtime.models.base


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('approval_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('added_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('added_as', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('added_to_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_approval_tasks_added_by_id_users'), 'users', ['added_by_id'], ['id']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_approval_tasks_added_to_id_approval_tasks'),
            'approval_tasks',
            ['added_to_id'],
            ['id'],
        )

    op.create_table('submission_copies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('step_key', sa.String(length=64), nullable=True),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', quire.runtime.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_submission_copies_added_by_id_users')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_submission_copies_submission_id_submissions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_submission_copies_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_copies')),
    sa.UniqueConstraint('submission_id', 'user_id', name='uq_submission_copies_person')
    )
    with op.batch_alter_table('submission_copies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_copies_submission_id'), ['submission_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_copies_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('submission_copies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_copies_user_id'))
        batch_op.drop_index(batch_op.f('ix_submission_copies_submission_id'))

    op.drop_table('submission_copies')
    with op.batch_alter_table('approval_tasks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_approval_tasks_added_to_id_approval_tasks'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_approval_tasks_added_by_id_users'), type_='foreignkey')
        batch_op.drop_column('added_to_id')
        batch_op.drop_column('added_as')
        batch_op.drop_column('added_by_id')
