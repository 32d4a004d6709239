"""HTML views of the review flow: where a review session starts, and the review
page itself (it talks to annotator/api/review.py for everything else)."""

from django.contrib import messages
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotator.accounts.keymap import page_keymap
from annotator.labeling.models import Annotation
from annotator.labeling.views import dataset_by_name, depth_limits, editor_steps, moved
from annotator.review import queue as reviewing
from annotator.review import selectors as review_selectors


@require_GET
def review_dataset(request, name: str):
    """How many labels await the reviewer, and a start button."""
    dataset = dataset_by_name(request, name, reviewing.dataset_for_reviewing)
    if dataset.name != name:
        return moved("review-dataset", dataset, request.method)
    return render(
        request,
        "annotator/review_dataset.html",
        {
            "dataset": dataset,
            "remaining": reviewing.queue_size(request.user, dataset),
            "cap": review_selectors.QUEUE_SIZE_CAP,
        },
    )


@require_POST
def review_next(request, name: str):
    dataset = dataset_by_name(request, name, reviewing.dataset_for_reviewing)
    if dataset.name != name:
        return moved("review-next", dataset, request.method)
    annotation = reviewing.next_for_review(request.user, dataset)
    if annotation is None:
        messages.success(request, f"Nothing awaits review in {dataset.name}.")
        return redirect("review-dataset", dataset.name)
    return redirect("review-annotation", annotation.pk)


@require_GET
def review_annotation_page(request, annotation_id: int):
    try:
        annotation = reviewing.annotation_for_reviewing(request.user, annotation_id)
    except Annotation.DoesNotExist:
        raise Http404("No such annotation.") from None
    reviewing.renew_claim(request.user, annotation)
    state = reviewing.review_editor_state(request.user, annotation)
    config = {
        "state": state,
        "urls": {
            "state": reverse("api-review-annotation", args=[annotation.pk]),
            "decision": reverse("api-review-decision", args=[annotation.pk]),
            "correction": reverse("api-review-correction", args=[annotation.pk]),
            "keymap": reverse("api-label-keymap"),
            "next": reverse("api-review-next", args=[state["dataset"]["id"]]),
            "image": reverse("label-image", args=[state["image"]["id"]]),
            "mesh": static("meshes/head.glb"),
            "dataset": reverse("review-dataset", args=[state["dataset"]["name"]]),
        },
        "steps": editor_steps(),
        "depth_limits": depth_limits(),
        "csrf": get_token(request),
        "keymap": page_keymap(request.user, "review"),  # the user's keys (static/js/keymap.js)
    }
    names = {p["key"]: p["who"] for p in state["poses"]}
    angles = [{**a, "a_who": names[a["a"]], "b_who": names[a["b"]]} for a in state["angles"]]
    return render(
        request,
        "annotator/review.html",
        {
            "state": state,
            "config": config,
            "angles": angles,
            "steps": config["steps"],
            "cap": review_selectors.QUEUE_SIZE_CAP,
        },
    )
