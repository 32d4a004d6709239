"""Leaderboard pages. Thin: reads via selectors, writes via uploads, proposer_runs and moderation."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotator.common import files as stored_files
from annotator.common.body_limits import body_limit
from annotator.common.redirects import redirect_to_next
from annotator.proposals.services import preferred_proposer_name, read_image_bgr
from evaluation import benchmarks, errors, moderation, proposer_runs, selectors, uploads
from evaluation.forms import ProposerRunForm, UploadForm
from evaluation.models import CropRule, Entry
from workers.core import geometry
from workers.core.predictions import PredictionFileError

SCALAR_ROWS = [
    ("MAE yaw", "mae_yaw"),
    ("MAE pitch", "mae_pitch"),
    ("MAE roll", "mae_roll"),
    ("MAE mean", "mae_mean"),
]


def _proposers():
    from django.conf import settings

    from workers.core.proposers import available_proposers  # heavy (torch, cv2): not imported by the web process

    return available_proposers(settings.HEADPOSE_WEIGHTS_DIR)


def _default_proposer():
    return preferred_proposer_name()


def index(request):
    selectors.require_reader(request.user)
    return render(request, "evaluation/index.html", {"benchmarks": selectors.benchmarks_overview(request.user)})


def leaderboard(request, pk: int, upload_form=None, run_form=None, status=200):
    benchmark = selectors.get_benchmark(request.user, pk)
    sort = request.GET.get("sort", "mae_mean")
    entries = selectors.leaderboard(request.user, benchmark, sort)
    return render(
        request,
        "evaluation/leaderboard.html",
        {
            "benchmark": benchmark,
            "entries": entries,
            "sort": sort,
            "versions": selectors.benchmark_versions(request.user, benchmark),
            "is_admin": selectors.is_admin(request.user),
            "upload_form": upload_form or UploadForm(initial={"crop_used": benchmark.crop}),
            "run_form": run_form or ProposerRunForm(proposers=_proposers(), default=_default_proposer()),
            "n_samples": len(benchmark.sample_names),
            "crop_label": CropRule(benchmark.crop).label,
        },
        status=status,
    )


@require_POST
@body_limit("HEADPOSE_MAX_PREDICTION_BYTES")
def upload(request, pk: int):
    benchmark = selectors.get_benchmark(request.user, pk)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return leaderboard(request, pk, upload_form=form, status=400)
    f = form.cleaned_data["file"]
    try:
        entry = uploads.create_upload_entry(
            benchmark=benchmark,
            data=uploads.read_prediction_upload(f),
            filename=f.name,
            content_type=f.content_type,
            user=request.user,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            is_public=form.cleaned_data["is_public"],
            crop_used=form.cleaned_data["crop_used"],
            allow_unknown_ids=form.cleaned_data["allow_unknown_ids"],
        )
    except PredictionFileError as exc:
        form.add_error("file", f"{len(exc.problems)} problem(s); the first ones:")
        for problem in exc.problems[:10]:
            form.add_error("file", problem)
        return leaderboard(request, pk, upload_form=form, status=400)
    except ValueError as exc:
        form.add_error("file", str(exc))
        return leaderboard(request, pk, upload_form=form, status=400)
    for w in entry.warnings:
        messages.warning(request, w)
    return redirect("entry_detail", pk=entry.pk)


@require_POST
def run_proposer(request, pk: int):
    benchmark = selectors.get_benchmark(request.user, pk)
    form = ProposerRunForm(request.POST, proposers=_proposers())
    if not form.is_valid():
        return leaderboard(request, pk, run_form=form, status=400)
    try:
        entry = proposer_runs.start_proposer_entry(
            benchmark=benchmark,
            proposer=form.cleaned_data["proposer"],
            user=request.user,
            is_public=form.cleaned_data["is_public"],
        )
    except errors.EvaluationRequestError as exc:
        form.add_error("proposer", str(exc))
        return leaderboard(request, pk, run_form=form, status=400)
    return redirect("entry_detail", pk=entry.pk)


def entry_detail(request, pk: int):
    entry = selectors.get_entry(request.user, pk, full=True)
    benchmark = entry.benchmark
    ps = entry.per_sample or {}
    names = benchmark.sample_names
    scatter = {
        "name": [names[i] for i in ps.get("index", [])],
        # 3 decimals of a degree are plenty for a chart and keep the page small
        **{k: [round(v, 3) for v in ps.get(k, [])] for k in ("yaw_gt", "pitch_gt", "err_mean", "geodesic")},
    }
    s = entry.summary or {}
    both = [(label, s.get(f"{key}_plain"), s.get(f"{key}_wrapped")) for label, key in SCALAR_ROWS]
    return render(
        request,
        "evaluation/entry.html",
        {
            "entry": entry,
            "benchmark": benchmark,
            "s": s,
            "both": both,
            "n_missing": entry.expected - entry.matched,
            "yaw_bins": (entry.details or {}).get("yaw_bins", []),
            "chart_data": {
                "entry": {"id": entry.pk, "name": entry.name},
                "curves": selectors.curves_for_overlay(request.user, benchmark)
                if entry.state == Entry.State.DONE
                else [],
                "yaw_bins": (entry.details or {}).get("yaw_bins", []),
                "scatter": scatter,
                "worst_url": reverse("entry_worst", args=[entry.pk]),
                "status_url": reverse("api_entry", args=[entry.pk]),
                "state": entry.state,
            },
            "can_manage": selectors.can_manage(request.user, entry),
            "is_admin": selectors.is_admin(request.user),
        },
    )


def entry_worst(request, pk: int):
    entry = selectors.get_entry(request.user, pk, full=True)
    by = request.GET.get("by", "geodesic")
    try:
        n = max(1, min(int(request.GET.get("n", 24)), 200))
    except ValueError:
        n = 24
    sample = request.GET.get("sample")
    rows = selectors.worst_samples(entry, by=by, n=n)
    if sample is not None:
        rows = [
            r
            for r in selectors.worst_samples(entry, by=by, n=len(entry.per_sample.get("index", [])))
            if r["name"] == sample
        ]
    return render(
        request,
        "evaluation/worst.html",
        {
            "entry": entry,
            "benchmark": entry.benchmark,
            "rows": rows,
            "by": by,
            "n": n,
            "sample": sample,
            "can_see_images": selectors.can_see_images(request.user, entry.benchmark),
        },
    )


def sample_overlay(request, pk: int, k: int):
    """JPEG of per-sample result k with the ground-truth and predicted axes."""

    entry = selectors.get_entry(request.user, pk, full=True)
    if not selectors.can_see_images(request.user, entry.benchmark):
        raise PermissionDenied("The dataset's images are not visible to you.")
    ps = entry.per_sample or {}
    if not 0 <= k < len(ps.get("index", [])):
        raise Http404("No such sample.")
    name = entry.benchmark.sample_names[ps["index"][k]]
    image = selectors.sample_image(entry.benchmark, name)
    gt = benchmarks.ground_truth_by_name(entry.benchmark.dataset).get(name) if image else None
    if image is None or gt is None or not image.file:
        raise Http404("The image of this sample is not stored.")
    from evaluation import drawing  # heavy (cv2): only the drill-down draws

    try:
        bgr = read_image_bgr(image)
    except (OSError, ValueError):
        raise Http404("The image file of this sample cannot be read.") from None

    R_pred = geometry.euler_to_matrix([ps["yaw_pred"][k], ps["pitch_pred"][k], ps["roll_pred"][k]])
    if gt["t"] is not None:
        t = gt["t"]
    else:
        box = image.faces.filter(pk=gt["face_id"]).values_list("box", flat=True).first()
        t = drawing.head_origin_from_box(box, image.K_matrix)
    jpeg = drawing.encode_jpeg(drawing.draw_axes(bgr, image.K_matrix, t, gt["R"], R_pred))
    response = HttpResponse(jpeg, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _manageable(request, pk):
    entry = selectors.get_entry(request.user, pk)
    if not selectors.can_manage(request.user, entry):
        raise PermissionDenied("Only the entry's owner or an admin can do this.")
    return entry


def entry_predictions(request, pk: int):
    """The uploaded prediction file: the owner's work, so only they and admins get it back."""
    entry = _manageable(request, pk)
    if not entry.upload:
        raise Http404("This entry has no uploaded file.")
    return stored_files.file_response(
        entry.upload, filename=entry.upload_name or None, as_attachment=True, cache_control="private"
    )


@require_POST
def entry_hide(request, pk: int):
    if not selectors.is_admin(request.user):
        raise PermissionDenied("Only admins hide entries.")
    entry = selectors.get_entry(request.user, pk)
    moderation.set_hidden(entry, request.POST.get("hidden", "1") == "1")
    return redirect_to_next(request, reverse("leaderboard", args=[entry.benchmark_id]))


@require_POST
def entry_publish(request, pk: int):
    entry = _manageable(request, pk)
    moderation.set_public(entry, request.POST.get("public", "1") == "1")
    return redirect("entry_detail", pk=entry.pk)


@require_POST
def entry_resume(request, pk: int):
    entry = _manageable(request, pk)
    try:
        proposer_runs.resume_entry(entry)
    except errors.EvaluationRequestError as exc:
        messages.error(request, str(exc))
    return redirect("entry_detail", pk=entry.pk)
