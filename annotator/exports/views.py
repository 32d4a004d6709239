from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from annotator.common.files import export_response
from annotator.common.models import Job
from annotator.datasets.models import Dataset
from annotator.datasets.selectors import visible_datasets
from annotator.exports import services as exports
from workers.core.exports import ExportError


@require_POST
def dataset_export(request, name):
    dataset = get_object_or_404(visible_datasets(request.user), name=name)
    try:
        dataset = exports.dataset_for_export(request.user, dataset.pk)
    except Dataset.DoesNotExist:
        raise Http404("No such dataset.") from None
    except exports.ExportDenied as exc:
        messages.error(request, str(exc))
        return redirect("dataset_detail", name=dataset.name)
    # an empty select ("all images", "any proposer") means the option is not given
    body = exports.ExportRequest(data={k: v for k, v in request.POST.items() if v != "" and k != "csrfmiddlewaretoken"})
    try:
        body.is_valid(raise_exception=True)
        options = body.validated_data
        small, _ = exports.fits_in_request(dataset, options)  # a split of another dataset is a ValidationError too
        if small:
            tmp, written = exports.export_to_temp(dataset, options)
            return export_response(tmp, exports.file_name(dataset, options), options["format"], written)
    except ValidationError as exc:
        messages.error(request, "Export: " + "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.detail.items()))
        return redirect("dataset_detail", name=dataset.name)
    except ExportError as exc:
        messages.error(request, f"The export cannot be written: {exc}")
        return redirect("dataset_detail", name=dataset.name)
    job = exports.create_export_job(user=request.user, dataset=dataset, options=options)
    return redirect("export_job", pk=job.pk)


def export_job(request, pk):
    try:
        job = exports.job_for_download(request.user, pk)
    except Job.DoesNotExist:
        raise Http404("No such export.") from None
    return render(request, "annotator/export_job.html", {"job": job, "file_name": exports.download_name(job)})
