import os
import sys

from django.core.management.base import BaseCommand, CommandError

from annotator.datasets.models import Dataset, Split
from annotator.exports import services as exports
from annotator.exports.selectors import LABEL_CHOICES, LABEL_HELP
from workers.core.exports import FORMATS, ExportError


class Command(BaseCommand):
    help = (
        "Export a dataset's labels: "
        + "; ".join(f"{k}: {v.description}" for k, v in FORMATS.items())
        + " Exit status 1 with a message on bad options or a face that cannot be written."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--format", default="csv", choices=sorted(FORMATS))
        parser.add_argument(
            "--labels",
            default="best",
            choices=LABEL_CHOICES,
            help="; ".join(f"{k}: {v}" for k, v in LABEL_HELP.items()),
        )
        parser.add_argument("--proposer", help="with --labels proposals (or best): only this proposer")
        parser.add_argument("--split", help="split name: only its images (latest version)")
        parser.add_argument("-o", "--output", help="file to write (default: standard output; required for zips)")
        parser.add_argument(
            "--landmarks", default="2d", choices=sorted(exports.LANDMARK_COLUMNS), help=exports.LANDMARK_HELP
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="leave out faces whose stored pose cannot be written (listed on stderr and, in "
            "zips, in SKIPPED_FACES.json); by default they stop the export, all listed",
        )

    def handle(self, *args, dataset, format, labels, proposer, split, output, skip_invalid, landmarks, **options):
        ds = Dataset.objects.filter(name=dataset).first()
        if ds is None:
            raise CommandError(f"no dataset named {dataset!r}")
        split_id = None
        if split:
            found = Split.objects.filter(dataset=ds, name=split).order_by("-version").first()
            if found is None:
                names = sorted(set(Split.objects.filter(dataset=ds).values_list("name", flat=True)))
                raise CommandError(f"dataset {dataset} has no split {split!r} (splits: {', '.join(names) or 'none'})")
            split_id = found.pk
        if FORMATS[format].extension == ".zip" and not output:
            raise CommandError(f"--format {format} writes a zip: give --output FILE")
        request = {
            "format": format,
            "labels": labels,
            "proposer": proposer or "",
            "split": split_id,
            "skip_invalid": skip_invalid,
            "landmarks": landmarks,
        }
        try:
            if output:
                with open(output, "wb") as fh:
                    written = exports.write(ds, request, fh)
            else:
                written = exports.write(ds, request, sys.stdout.buffer)
                sys.stdout.flush()
        except ExportError as exc:
            if output:
                os.remove(output)  # never leave a half-written export that looks complete
            for face in getattr(exc, "invalid", []):
                self.stderr.write(f"cannot be written: {face}")
            raise CommandError(f"export stopped: {exc}") from None
        for face in written.skipped:
            self.stderr.write(f"skipped: {face}")
        self.stderr.write(
            f"{written.rows} rows" + (f", {len(written.skipped)} faces skipped" if written.skipped else "")
        )
