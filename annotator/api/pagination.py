"""Cursor pagination by id: pages stay consistent while rows are added (a new
row lands after the last page instead of shifting every page by one), and a
page costs the same at row 100 as at row 100,000 (no OFFSET, no COUNT)."""
from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
