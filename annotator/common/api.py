from rest_framework import generics

from annotator.common import filters


class ListAPI(generics.ListAPIView):
    """A cursor-paginated list; the query string is parsed by `filter_class`
    (a bad value is a 400 naming it), the rows come from a selector."""

    filter_class = filters.ListFilters

    def filters(self) -> dict:
        if not hasattr(self, "_filters"):
            self._filters = filters.parse(self.filter_class, self.request)
        return self._filters
