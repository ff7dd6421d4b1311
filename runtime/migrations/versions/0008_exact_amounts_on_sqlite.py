"""exact amounts on SQLite: fixed-point columns hold whole smallest units

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 19:00:00

On SQLite, money and other fixed-point columns were stored as REAL and lost the last
digits of large amounts. From now on they hold whole numbers of the smallest unit (cents
for money; see ``quire.runtime.models.base.ExactDecimal``). The columns keep their type;
existing values are converted. PostgreSQL keeps NUMERIC and needs nothing.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

#: table, column, decimal places
COLUMNS = (
    ("submissions", "total", 2),
    ("allocation_runs", "source_amount", 2),
    ("allocation_lines", "amount", 2),
    ("allocation_lines", "driver_value", 4),
    ("allocation_lines", "percent", 4),
)


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, column, places in COLUMNS:
        op.execute(
            f'UPDATE "{table}" SET "{column}" = CAST(ROUND("{column}" * {10 ** places}) AS INTEGER) '
            f'WHERE "{column}" IS NOT NULL'
        )


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, column, places in COLUMNS:
        op.execute(
            f'UPDATE "{table}" SET "{column}" = "{column}" / {10 ** places}.0 '
            f'WHERE "{column}" IS NOT NULL'
        )
