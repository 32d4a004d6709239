from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from annotator.common import access
from annotator.common.roles import user_roles
from annotator.datasets.models import Face
from annotator.datasets.selectors import visible_datasets, visible_face
from annotator.datasets.services import current_summaries, summary_states, with_summary_counts
from annotator.exports import services as exports
from annotator.exports.selectors import LABEL_HELP
from annotator.labeling.selectors import LABEL_STATES, dataset_face_page
from annotator.proposals.models import FaceMesh
from annotator.proposals.selectors import mesh_of
from workers.core.exports import FORMATS


def home(request):
    datasets = with_summary_counts(list(visible_datasets(request.user)), request.user)
    return render(
        request,
        "annotator/home.html",
        {
            "datasets": datasets,
            "roles": sorted(user_roles(request.user)),
            # the buttons each dataset shows: its gates' answers
            "labeling": access.annotator_dataset_ids(request.user),
            "reviewing": access.reviewer_dataset_ids(request.user),
        },
    )


def dataset_detail(request, name):
    dataset = get_object_or_404(visible_datasets(request.user), name=name)
    reads_labels = access.may_read_labels(request.user, dataset.pk)
    # an annotator's view of the states comes from their own labels only
    author = None if reads_labels else request.user
    state = request.GET.get("state") if request.GET.get("state") in LABEL_STATES else None
    can_see_quality = access.may_see_quality(request.user, dataset.pk)
    # the quality page's "N need review": faces whose labels disagree (consensus), for who sees quality
    needs_review = bool(request.GET.get("needs_review")) and can_see_quality
    summary = current_summaries([dataset])[dataset.pk]
    counts = summary_states(summary.figures, author)
    faces, has_previous, has_next = dataset_face_page(
        dataset,
        state=state,
        author=author,
        needs_review=needs_review,
        after=_cursor(request, "after"),
        before=_cursor(request, "before"),
        # under 2% of the faces in the state (the summary's count): start from its labels, else walk the faces
        sparse=bool(state) and counts[state] * 50 < summary.figures["faces"],
    )
    if needs_review:
        shown = summary.figures.get("needs_review", 0)
    else:
        shown = counts[state] if state else summary.figures["faces"]
    context = {
        "dataset": dataset,
        "faces": faces,
        "has_previous": has_previous,
        "has_next": has_next,
        "n_shown": shown,  # from the summary: counted on the request for a small dataset, else by a worker
        "counted_at": summary.computed_at,
        "can_export": reads_labels,
        "state": state or "",
        "states": [(s, s.replace("_", " "), help, counts[s]) for s, help in LABEL_STATES.items()],
        "n_faces": summary.figures["faces"],
        "reviews": access.may_review(request.user, dataset.pk),
        "can_label": access.may_label(request.user, dataset.pk),
        # face cards open the editor for those who label here without reading every label (annotators)
        "cards_open_editor": access.may_label(request.user, dataset.pk) and not reads_labels,
        "needs_review": needs_review,
        "sequences": dataset.sequences.all(),
        "can_see_quality": can_see_quality,
    }
    if context["can_export"]:
        context.update(
            export_formats=FORMATS.values(),
            label_choices=LABEL_HELP.items(),
            proposers=summary.figures.get("proposers", []),
            splits=dataset.splits.defer("sample_names", "definition"),
            stream_limit=exports.stream_limit(),
        )
    return render(request, "annotator/dataset.html", context)


def _cursor(request, name: str) -> int | None:
    """A face id from the query string (a page's first or last face); anything else: none."""
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and len(value) < 19 else None


def _visible_face(request, pk) -> Face:
    try:
        return visible_face(request.user, pk)
    except Face.DoesNotExist:
        raise Http404("no such face") from None  # never confirm that another dataset's face exists


def face_detail(request, pk):
    face = _visible_face(request, pk)
    may_read_labels = access.may_read_labels(request.user, face.image.dataset_id)
    mesh = mesh_of(face) if may_read_labels else None
    image = face.image
    viewer_data = {
        "K": image.K,
        "width": image.width,
        "height": image.height,
        "glb_url": reverse("face_mesh_glb", args=[face.pk]) if mesh and mesh.state == FaceMesh.State.DONE else None,
    }
    context = {
        "face": face,
        "mesh": mesh,
        "proposals": face.proposals.order_by("proposer", "-created_at"),
        # an annotator sees their own labels only: no ground truth, nobody else's
        "annotations": face.annotations.filter(access.annotation_filter(request.user))
        .select_related("author")
        .order_by("origin", "author__username"),
        "may_read_labels": may_read_labels,
        "viewer_data": viewer_data,
    }
    return render(request, "annotator/face.html", context)
