from django.shortcuts import render

from annotator import selectors
from annotator.roles import user_roles


def home(request):
    datasets = selectors.with_counts(selectors.visible_datasets(request.user))
    return render(request, "annotator/home.html", {"datasets": datasets, "roles": sorted(user_roles(request.user))})
