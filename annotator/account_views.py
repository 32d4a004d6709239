"""Pages: personal API tokens, and label exports (the dataset page's form and an
export job's progress). Thin: the rules live in annotator.tokens / exports."""
from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from annotator import exports, tokens
from annotator.api.export_views import file_response
from annotator.models import Dataset, Job
from workers.core.exports import ExportError


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What it is for, e.g. 'training pipeline'")
    read_only = forms.BooleanField(required=False, help_text="Only reads (GET)")
    expires_in_days = forms.IntegerField(min_value=1, max_value=3650, required=False,
                                         help_text="Leave empty for no expiry")


def token_list(request):
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            token, new_key = tokens.create_token(user=request.user, **form.cleaned_data)
        except tokens.TokenError as exc:
            form.add_error(None, str(exc))
        else:
            form = TokenForm()
            messages.success(request, f"Token “{token.name}” created. Copy the key now: it is not shown again.")
    return render(request, "annotator/tokens.html", {
        "form": form, "new_key": new_key, "tokens": tokens.tokens_of(request.user)})


@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(tokens.tokens_of(request.user), pk=pk)
    tokens.revoke_token(token)
    messages.success(request, f"Token “{token.name}” ({token.prefix}…) revoked.")
    return redirect("tokens")


@require_POST
def dataset_export(request, name):
    dataset = get_object_or_404(Dataset, name=name)
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
            return file_response(tmp, exports.file_name(dataset, options), options["format"], written)
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
