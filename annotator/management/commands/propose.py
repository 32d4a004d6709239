from django.core.management.base import BaseCommand, CommandError

from annotator.common import jobs
from annotator.common.models import Job
from annotator.datasets.models import Dataset
from annotator.management import progress
from annotator.proposals import services as proposing


class Command(BaseCommand):
    help = "Queue pose proposals for a dataset on the `gpu` workers and show progress until done."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--proposer", help="a registered proposer (default: the one annotators see)")
        parser.add_argument("--inline", action="store_true", help="run here instead of on the workers")

    def handle(self, *args, dataset, proposer, inline, **options):
        ds = Dataset.objects.filter(name=dataset).first()
        if ds is None:
            raise CommandError(f"no dataset named {dataset!r}")
        try:
            if inline:
                name = proposer or proposing.preferred_proposer_name()
                proposing.check_proposer(name)
                ids = list(ds.images.order_by("pk").values_list("pk", flat=True))
                job = Job.objects.create(kind=Job.Kind.PROPOSE, dataset=ds, total=len(ids), options={"proposer": name})
                for i in range(0, len(ids), proposing.BATCH_SIZE):
                    proposing.propose_images(ids[i : i + proposing.BATCH_SIZE], name, job.pk)
                job.refresh_from_db()
                if not ids:
                    jobs.finish(job)
            else:
                job = proposing.start_proposals(dataset=ds, proposer=proposer)
                job = progress.follow(
                    job, progress.ProgressBar(f"propose {dataset}", unit="image", quiet=options["verbosity"] == 0)
                )
        except proposing.ProposeRequestError as exc:
            raise CommandError(str(exc)) from None
        for error in job.errors:
            self.stderr.write(f"  {error['name']}: {error['message']}")
        n = ds.images.filter(faces__proposals__proposer=job.options["proposer"]).count()
        summary = (
            f"job #{job.pk} {job.state}: {job.processed} images, {n} faces with a {job.options['proposer']} proposal"
        )
        if job.state not in (Job.State.DONE,):
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
