import sys

from django.core.management.base import BaseCommand, CommandError

from annotator import selectors
from annotator.models import Dataset
from workers.core.label_rows import write_csv


class Command(BaseCommand):
    help = "Export one row per face (image, face index, yaw/pitch/roll, R, t, source) as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--format", default="csv", choices=["csv"])
        parser.add_argument("--labels", default="best", choices=selectors.LABEL_CHOICES)
        parser.add_argument("--proposer", help="with --labels proposals (or best): only this proposer")
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args, dataset, labels, proposer, output, **options):
        ds = Dataset.objects.filter(name=dataset).first()
        if ds is None:
            raise CommandError(f"no dataset named {dataset!r}")
        rows = selectors.label_rows(ds, labels=labels, proposer=proposer)
        if output:
            with open(output, "w", newline="") as fh:
                n = write_csv(rows, fh)
        else:
            n = write_csv(rows, sys.stdout)
        self.stderr.write(f"{n} rows")
