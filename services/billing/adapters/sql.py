"""SQL the repositories share: ``IN`` lists as one array parameter, bulk inserts by ``COPY``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, any_, bindparam, insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from shared.chunks import chunks

CHUNK = 1000


def among(session: Session, column, values: Sequence[str]):
    """``column IN values`` — on PostgreSQL as ``= ANY(:array)``: one parameter however many
    values (the driver's cost of a long IN list grows with its length)."""
    if session.get_bind().dialect.name == "postgresql":
        # the array's element type must be the column's, or PostgreSQL casts the column and
        # cannot use its index
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def copy_rows(session: Session, table: Table, cols: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert value tuples in ``cols`` order: PostgreSQL ``COPY`` (inside the session's
    transaction), else executemany. Only for rows that cannot conflict (the ledger lock and the
    handlers' own dedupe see to it)."""
    if not rows:
        return
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        for part in chunks(list(rows), 5000):
            session.execute(insert(table), [dict(zip(cols, r)) for r in part])
        return
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(r)
