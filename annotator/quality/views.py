from django.shortcuts import get_object_or_404, render

from annotator.datasets.selectors import visible_datasets
from annotator.quality.services import dataset_for_quality, shown_report


def dataset_quality(request, name):
    """Annotator scores, consensus figures and the noise floor (reviewers of the dataset, admins).
    A large dataset's stale report is shown with its age while a worker recomputes it."""
    dataset = get_object_or_404(visible_datasets(request.user), name=name)
    dataset = dataset_for_quality(request.user, dataset.pk)
    shown = shown_report(dataset)
    return render(request, "annotator/quality.html", {"dataset": dataset, **shown})
