"""The Celery app. Configuration comes from Django settings (CELERY_*), read
lazily, so importing this module neither sets Django up nor connects."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("headpose")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"])


@worker_ready.connect
def _start_reaper(sender=None, **kwargs):
    """Every worker re-sends stranded work at start and then periodically
    (annotator/common/reaper.py): no separate beat process to forget."""
    # this module is imported before Django is set up (config/__init__.py): models load only here
    from annotator.common import reaper

    reaper.start_in_worker()
