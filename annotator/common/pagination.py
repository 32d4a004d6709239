"""Cursor pagination by id: pages stay consistent while rows are added (a new
row lands after the last page instead of shifting every page by one), and a
page costs the same at row 100 as at row 100,000 (no OFFSET, no COUNT)."""

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

ID_RANGE = (-(2**63), 2**63 - 1)  # bigint: a position outside it would be a database error


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def decode_cursor(self, request):
        """DRF's decoding checks the offset but passes the position on to the
        query as it came: a tampered one (`p=abc`, a 30-digit number) must be a
        404 naming the cursor, not a database error."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                position = int(cursor.position)
            except ValueError:
                raise NotFound(self.invalid_cursor_message) from None
            if not ID_RANGE[0] <= position <= ID_RANGE[1]:
                raise NotFound(self.invalid_cursor_message)
            cursor = cursor._replace(position=str(position))  # canonical digits only
        return cursor
