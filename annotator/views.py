from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from annotator import access, exports, quality, selectors, stored_files
from annotator.models import Face, FaceMesh, Proposal
from workers.core.exports import FORMATS
from annotator.roles import user_roles


def home(request):
    datasets = selectors.with_counts(selectors.visible_datasets(request.user))
    return render(request, "annotator/home.html", {"datasets": datasets, "roles": sorted(user_roles(request.user)),
                                                   "reviewing": access.reviewer_dataset_ids(request.user)})


def dataset_detail(request, name):
    dataset = get_object_or_404(selectors.visible_datasets(request.user), name=name)
    reads_labels = dataset.pk in access.label_reader_dataset_ids(request.user)
    # an annotator's view of the states comes from their own labels only
    author = None if reads_labels else request.user
    state = request.GET.get("state") if request.GET.get("state") in selectors.LABEL_STATES else None
    faces = selectors.dataset_faces(dataset, state=state, author=author)
    counts = selectors.label_state_counts(dataset, author=author)
    paginator = Paginator(faces, 48)
    paginator.count = counts[state] if state else sum(counts.values())  # known: not a second pass over the faces
    page = paginator.get_page(request.GET.get("page"))
    selectors.with_label_states(page.object_list)
    context = {"dataset": dataset, "page": page, "can_export": reads_labels, "state": state or "",
               "states": [(s, s.replace("_", " "), help, counts[s]) for s, help in selectors.LABEL_STATES.items()],
               "n_faces": sum(counts.values()),
               "reviews": dataset.pk in access.reviewer_dataset_ids(request.user),
               "can_label": dataset.pk in access.annotator_dataset_ids(request.user),
               "sequences": dataset.sequences.all(),
               "can_see_quality": access.can_see_quality(request.user, dataset.pk)}
    if context["can_export"]:
        context.update(
            export_formats=FORMATS.values(), label_choices=selectors.LABEL_HELP.items(),
            proposers=Proposal.objects.filter(face__image__dataset=dataset).values_list("proposer", flat=True)
            .distinct().order_by("proposer"),
            splits=dataset.splits.defer("sample_names", "definition"), stream_limit=exports.stream_limit())
    return render(request, "annotator/dataset.html", context)


def _visible_face(request, pk) -> Face:
    face = get_object_or_404(Face.objects.select_related("image", "image__dataset"), pk=pk)
    if not selectors.visible_datasets(request.user).filter(pk=face.image.dataset_id).exists():
        raise Http404("no such face")  # never confirm that another dataset's face exists
    return face


MESH_DENIED = ("The textured mesh's vertices are the face's 3D landmarks in the camera frame, from which its pose "
               "can be computed: only those who read every label of the dataset may have it.")


def face_detail(request, pk):
    face = _visible_face(request, pk)
    may_read_labels = access.can_read_labels(request.user, face.image.dataset_id)
    mesh = FaceMesh.objects.filter(face=face).first() if may_read_labels else None
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
        .select_related("author").order_by("origin", "author__username"),
        "may_read_labels": may_read_labels,
        "viewer_data": viewer_data,
    }
    return render(request, "annotator/face.html", context)


def face_mesh_glb(request, pk):
    face = _visible_face(request, pk)
    if not access.can_read_labels(request.user, face.image.dataset_id):
        raise PermissionDenied(MESH_DENIED)
    mesh = FaceMesh.objects.filter(face=face, state=FaceMesh.State.DONE).first()
    if mesh is None or not mesh.glb:
        raise Http404("this face has no mesh yet")
    name = f"{face.image.dataset.name}-{face.image.file_name.replace('/', '_')}-face{face.index}.glb"
    return stored_files.file_response(mesh.glb, filename=name, as_attachment=True, content_type="model/gltf-binary")


def dataset_quality(request, name):
    """Annotator scores, consensus figures and the noise floor (reviewers of the dataset, admins)."""
    dataset = get_object_or_404(selectors.visible_datasets(request.user), name=name)
    dataset = quality.dataset_for_quality(request.user, dataset.pk)
    return render(request, "annotator/quality.html", {"dataset": dataset, "report": quality.report(dataset)})
