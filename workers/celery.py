"""The Celery app. Configuration comes from Django settings (CELERY_*), read
lazily, so importing this module neither sets Django up nor connects."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("headpose")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"])
