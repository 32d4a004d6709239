from rest_framework import status
from rest_framework.response import Response


def conflict_response(exc) -> Response:
    """409 for a services.VersionConflict: the client reloads and retries."""
    return Response(
        {"detail": str(exc), "code": "version_conflict", "current_version": exc.current_version,
         "expected_version": exc.expected_version},
        status=status.HTTP_409_CONFLICT,
    )
