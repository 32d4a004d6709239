from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from annotator.common import access
from annotator.common.roles import user_roles
from annotator.datasets.models import Face
from annotator.datasets.selectors import visible_datasets, visible_face, with_counts
from annotator.exports import services as exports
from annotator.exports.selectors import LABEL_HELP
from annotator.labeling.selectors import LABEL_STATES, dataset_faces, label_state_counts, with_label_states
from annotator.proposals.models import FaceMesh
from annotator.proposals.selectors import mesh_of, proposers_of
from workers.core.exports import FORMATS


def home(request):
    datasets = with_counts(visible_datasets(request.user), request.user)
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
    faces = dataset_faces(dataset, state=state, author=author, needs_review=needs_review)
    counts = label_state_counts(dataset, author=author)
    paginator = Paginator(faces, 48)
    if not needs_review:
        paginator.count = counts[state] if state else sum(counts.values())  # known: not a second pass over the faces
    page = paginator.get_page(request.GET.get("page"))
    with_label_states(page.object_list)
    context = {
        "dataset": dataset,
        "page": page,
        "can_export": reads_labels,
        "state": state or "",
        "states": [(s, s.replace("_", " "), help, counts[s]) for s, help in LABEL_STATES.items()],
        "n_faces": sum(counts.values()),
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
            proposers=proposers_of(dataset),
            splits=dataset.splits.defer("sample_names", "definition"),
            stream_limit=exports.stream_limit(),
        )
    return render(request, "annotator/dataset.html", context)


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
