import time

from django.core.management.base import BaseCommand, CommandError

from annotator.datasets.models import Dataset
from annotator.labeling import queue_entries


class Command(BaseCommand):
    help = (
        "Build the labeling queue's entries (annotator/labeling/queue_entries.py) of every dataset, or of "
        "the ones named. The first hand-out after an upgrade or a change of a dataset's queue settings "
        "builds them too, in that request: run this after an upgrade so that no annotator waits for it."
    )

    def add_arguments(self, parser):
        parser.add_argument("datasets", nargs="*", help="dataset names (default: all)")

    def handle(self, *args, datasets, **options):
        chosen = Dataset.objects.all()
        if datasets:
            chosen = chosen.filter(name__in=datasets)
            missing = sorted(set(datasets) - set(chosen.values_list("name", flat=True)))
            if missing:
                raise CommandError(f"no such dataset: {', '.join(missing)}")
        for dataset in chosen.order_by("pk"):
            started = time.perf_counter()
            queue_entries.rebuild(dataset)
            self.stdout.write(f"{dataset.name}: queue built in {time.perf_counter() - started:.1f} s")
