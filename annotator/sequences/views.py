import re

from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET

from annotator.accounts.keymap import page_keymap
from annotator.common import access
from annotator.datasets.models import Dataset
from annotator.exports import services as exports
from annotator.labeling.views import depth_limits, editor_steps
from annotator.sequences import selectors as selectors_sequences
from annotator.sequences.models import Sequence
from workers.core.label_rows import ExportError


def _sequence(request, sequence_id: int, labeling: bool) -> Sequence:
    try:
        return selectors_sequences.sequence_for(request.user, sequence_id, labeling=labeling)
    except (Sequence.DoesNotExist, Dataset.DoesNotExist):
        raise Http404("No such sequence.") from None


@require_GET
def label_sequence(request, sequence_id: int):
    """The sequence editor: the frame with the head, and the timeline under it."""
    sequence = _sequence(request, sequence_id, labeling=True)
    config = {
        "urls": {
            "state": reverse("api-label-sequence", args=[sequence.pk]),
            "image": reverse("label-image", args=[0]).replace("/0/", "/{id}/"),
            "save": reverse("api-label-save", args=[0]).replace("/0/", "/{id}/"),
            # a frame's face: its editor state (the landmark tool's pins, own landmarks, proposals)
            "face": reverse("api-label-face", args=[0]).replace("/0/", "/{id}/"),
            "mesh": static("meshes/head.glb"),
            "keymap": reverse("api-label-keymap"),
            # every annotator's labels: only for those who read them all (the CSV's own gate)
            "csv": reverse("sequence-csv", args=[sequence.pk])
            if access.may_read_labels(request.user, sequence.dataset_id)
            else None,
        },
        "depth_limits": depth_limits(),
        "steps": editor_steps(),  # the pose keys' steps, as on the labeling page
        "csrf": get_token(request),
        "keymap": page_keymap(request.user, "timeline"),  # the user's keys (static/js/keymap.js)
    }
    return render(request, "annotator/label_sequence.html", {"sequence": sequence, "config": config})


@require_GET
def sequence_csv(request, sequence_id: int):
    """This sequence's labels=track CSV, to those who read every label of the dataset."""
    from django.http import HttpResponse

    sequence = _sequence(request, sequence_id, labeling=False)
    try:
        data = exports.sequence_csv(sequence)
    except ExportError as exc:  # a stored label breaks the pose rules: say which, never a 500
        return HttpResponse(f"export stopped: {exc}", status=422, content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    name = re.sub(r"[^-\w.]", "_", f"{sequence.dataset.name}-{sequence.name}-track.csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
