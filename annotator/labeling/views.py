"""HTML views of the labeling flow (the page itself; the editor talks to
annotator/api for everything else)."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponsePermanentRedirect
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotator.accounts.keymap import page_keymap
from annotator.common import files as stored_files
from annotator.datasets.models import Dataset, Face, Image
from annotator.datasets.selectors import visible_datasets, visible_image
from annotator.labeling.editor import face_editor_state
from annotator.labeling.queue import labeling_progress, next_face, next_steps, renew_claim
from annotator.labeling.selectors import dataset_for_labeling, face_for_labeling
from workers.core.pose_rules import SAFE_DEPTH_MM

# Keyboard nudges: (fine, coarse) in degrees and millimetres. Coarse = with Shift.
DEFAULT_STEPS = {"angle_fine": 1.0, "angle_coarse": 5.0, "move_fine": 1.0, "move_coarse": 10.0}
AUTOSAVE_MS = 1500
PREFETCH = 2


def editor_steps() -> dict:
    """The keyboard nudges every pose editor uses (labeling, review): the defaults
    with HEADPOSE_LABEL_STEPS laid over them."""
    return {**DEFAULT_STEPS, **getattr(settings, "HEADPOSE_LABEL_STEPS", {})}


def depth_limits() -> dict:
    """How near and how far every pose editor lets the wheel (and the U/O keys)
    move the head (static/js/editor/controls.js): from SAFE_DEPTH_MM on every
    rotation is legal; the saves check the exact rule (workers/core/pose_rules.py)."""
    return {"safe_depth_mm": SAFE_DEPTH_MM, "max_depth_mm": float(settings.HEADPOSE_MAX_DEPTH_MM)}


def dataset_by_name(request, name: str, gate) -> Dataset:
    """Pages address a dataset by its name (as /datasets/NAME/ does), the API by
    id; `gate(user, dataset_id)` is the page's gate. A number that names no
    dataset is the id of the URLs of before: the caller redirects (moved) when the
    dataset's name differs from `name`."""
    found = visible_datasets(request.user).filter(name=name).values_list("pk", flat=True).first()
    if found is None and name.isdigit() and len(name) < 10:  # an id (32-bit)
        found = int(name)
    if found is None:
        raise Http404("No such dataset.")
    try:
        return gate(request.user, found)
    except Dataset.DoesNotExist:
        raise Http404("No such dataset.") from None


def moved(view: str, dataset: Dataset, method: str) -> HttpResponsePermanentRedirect:
    """The permanent redirect from an id URL to the name URL: 301, or 308 (which keeps the POST) for a POST."""
    return HttpResponsePermanentRedirect(reverse(view, args=[dataset.name]), status=308 if method == "POST" else 301)


@require_GET
def label_dataset(request, name: str):
    """Where a labeling session starts and ends: progress and a start button."""
    dataset = dataset_by_name(request, name, dataset_for_labeling)
    if dataset.name != name:
        return moved("label-dataset", dataset, request.method)
    progress = labeling_progress(request.user, dataset)
    # an empty queue is no dead end: what else there is to do, each asked of its gate
    steps = None if progress["remaining"] else next_steps(request.user, dataset)
    return render(request, "annotator/label_dataset.html", {"dataset": dataset, "progress": progress, "next": steps})


@require_POST
def label_next(request, name: str):
    dataset = dataset_by_name(request, name, dataset_for_labeling)
    if dataset.name != name:
        return moved("label-next", dataset, request.method)
    face = next_face(request.user, dataset)
    if face is None:
        messages.success(request, f"Nothing left to label in {dataset.name}. Thank you!")
        return redirect("label-dataset", dataset.name)
    return redirect("label-face", face.pk)


@require_GET
def label_face(request, face_id: int):
    try:
        face = face_for_labeling(request.user, face_id)
    except Face.DoesNotExist:
        raise Http404("No such face.") from None
    renew_claim(request.user, face)
    state = face_editor_state(request.user, face)
    config = {
        "state": state,
        "urls": {
            "state": reverse("api-label-face", args=[face.pk]),
            "save": reverse("api-label-save", args=[face.pk]),
            "keymap": reverse("api-label-keymap"),
            "next": reverse("api-label-next", args=[face.image.dataset_id]),
            "release": reverse("api-label-release", args=[face.image.dataset_id]),
            "image": reverse("label-image", args=[face.image_id]),
            "mesh": static("meshes/head.glb"),
            "dataset": reverse("label-dataset", args=[face.image.dataset.name]),
        },
        "steps": editor_steps(),
        "depth_limits": depth_limits(),
        "csrf": get_token(request),
        "keymap": page_keymap(request.user, "label"),  # the user's keys (static/js/keymap.js)
        "autosave_ms": getattr(settings, "HEADPOSE_AUTOSAVE_MS", AUTOSAVE_MS),
        # faces fetched (and claimed) ahead of the one shown: the next ones show in place
        "prefetch": getattr(settings, "HEADPOSE_LABEL_PREFETCH", PREFETCH),
    }
    if face.image.sequence_id is not None:  # a frame: the way back to its sequence editor
        config["sequence"] = {"id": face.image.sequence_id, "frame_index": face.image.frame_index}
        config["urls"]["sequence"] = reverse("label-sequence", args=[face.image.sequence_id])
    return render(
        request, "annotator/label.html", {"face": face, "state": state, "config": config, "steps": config["steps"]}
    )


@require_GET
def label_image(request, image_id: int):
    """The image file, to anyone who may see its dataset (media is not public)."""
    try:
        image = visible_image(request.user, image_id)
    except Image.DoesNotExist:
        raise Http404("No such image.") from None
    return stored_files.file_response(image.file)
