"""Statements run as server-side prepared statements on Django's own PostGIS connection.

Django's cursor binds parameters in the client and never prepares, so PostgreSQL plans every
statement again; for the hot, one-row reads (a tile, the point lookup, the discussion a comment
is posted to) planning is a large share of the statement. Used by ``landuse`` and ``engage``.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection


def is_postgis() -> bool:
    return connection.vendor == "postgresql"


def fetch_all(text: str, params: Sequence, *, prepare: bool = True) -> list[tuple]:
    """The rows of ``text``; on PostGIS with ``prepare``, run as a server-side prepared
    statement on Django's connection (psycopg prepares it on first use and reuses it on that
    connection), otherwise through Django's own cursor (SpatiaLite, or a statement whose plan
    should follow its values).

    The prepared path uses a psycopg cursor with server-side binding on Django's connection,
    inside Django's error wrapping. Where the connection's ``prepare_threshold`` is None
    (Django's default, kept when ``DATABASE_POOL`` is off for an external pooler) psycopg does
    not prepare and the statement runs plainly. While Django logs queries (``DEBUG``, a test
    capturing them) the statement goes through Django's cursor instead, unprepared, so that it
    is logged. Values come back as psycopg loads them on Django's connection (geometries as
    hex EWKB).
    """
    if not (prepare and is_postgis()) or connection.queries_logged:
        with connection.cursor() as cursor:
            cursor.execute(text, params)
            return cursor.fetchall()
    import psycopg

    # The checks Django's cursor makes before a statement: its connection, in this thread, not
    # in a transaction already marked for rollback.
    connection.ensure_connection()
    connection.validate_thread_sharing()
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(text, params, prepare=True)
        return cursor.fetchall()
