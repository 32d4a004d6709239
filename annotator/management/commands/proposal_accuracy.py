import json

from django.core.management.base import BaseCommand, CommandError

from annotator.datasets.models import Dataset
from annotator.proposals.selectors import proposal_accuracy


class Command(BaseCommand):
    help = (
        "MAE (yaw/pitch/roll/mean, degrees, AFLW convention) of each proposer against the dataset's ground "
        "truth, per ground-truth |yaw| bin, and the mean error per confidence third (low to high)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--proposer", help="only this proposer")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, dataset, proposer, **options):
        ds = Dataset.objects.filter(name=dataset).first()
        if ds is None:
            raise CommandError(f"no dataset named {dataset!r}")
        rows = proposal_accuracy(ds, proposer)
        if not rows:
            raise CommandError(f"no proposals with ground truth in {dataset!r}; run `manage.py propose` first")
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        self.stdout.write(f"{'proposer':<28}{'found':>9}{'yaw':>8}{'pitch':>8}{'roll':>8}{'mean':>8}")
        for r in rows:
            self.stdout.write(
                f"{r['proposer'] + '@' + r['version']:<28}{r['found']:>4}/{r['ground_truth_faces']:<4}"
                f"{r['mae_yaw']:>8.2f}{r['mae_pitch']:>8.2f}{r['mae_roll']:>8.2f}{r['mae_mean']:>8.2f}"
            )
            for b in r["yaw_bins"]:
                if b["count"]:
                    self.stdout.write(
                        f"{'  |yaw| ' + b['label']:<28}{b['count']:>9}"
                        f"{b['mae_yaw']:>8.2f}{b['mae_pitch']:>8.2f}{b['mae_roll']:>8.2f}{b['mae_mean']:>8.2f}"
                    )
            if r["confidence_curve"]:
                self.stdout.write(
                    "  mean error by confidence, low to high: "
                    + " / ".join(f"{g['mean_error_deg']:.2f} ({g['faces']})" for g in r["confidence_curve"])
                )
