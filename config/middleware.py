"""Request guards that hold for every view, the Django admin included."""

from django.http import HttpResponseBadRequest


class RefuseNulInQuery:
    """A NUL character in a query parameter is a 400: PostgreSQL cannot hold NUL
    in text, so a filter on it (the admin's list filters, any view that passes
    a parameter to the database unchecked) would otherwise be a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            return HttpResponseBadRequest("A query parameter contains a NUL character.", content_type="text/plain")
        return self.get_response(request)
