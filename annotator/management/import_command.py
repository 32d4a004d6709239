"""The shared body of the import_* management commands."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotator.common.models import Job
from annotator.datasets import importing
from annotator.management import progress


class ImportCommand(BaseCommand):
    kind: str = ""

    def add_arguments(self, parser):
        parser.add_argument("path", help="a folder or a .zip on this machine")
        parser.add_argument("--dataset", required=True, help="dataset name (created if missing)")
        parser.add_argument(
            "--queue",
            action="store_true",
            help="run on the Celery workers and follow the progress (default: run in this process)",
        )

    def job_options(self, options: dict) -> dict:
        """Extra keyword arguments of importing.create_import_job (a subclass's own options)."""
        return {}

    def handle(self, *args, path, dataset, queue, **options):
        try:
            job = importing.create_import_job(
                kind=self.kind, dataset_name=dataset, server_path=path, **self.job_options(options)
            )
        except importing.ImportRequestError as exc:
            raise CommandError(str(exc)) from None
        bar = progress.ProgressBar(
            f"import {dataset}",
            unit="file",
            quiet=options["verbosity"] == 0,
            postfix=lambda j: {"new": j.succeeded, "unchanged": j.unchanged, "errors": len(j.errors)},
        )
        if queue:
            with transaction.atomic():
                importing.queue_import_job(job)
            job = progress.follow(job, bar)
        else:
            job = importing.run_import_job(job.pk, on_progress=bar.show)
            bar.close()
        for error in job.errors:
            self.stderr.write(f"  {error['name']}: {error['message']}")
        summary = (
            f"job #{job.pk} {job.state}: {job.succeeded} imported, {job.unchanged} already present, "
            f"{len(job.errors)} errors, dataset {job.dataset.name}"
        )
        if job.state != Job.State.DONE:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
