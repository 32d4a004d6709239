import json

from django.core.management.base import BaseCommand, CommandError

from annotator.datasets.models import Dataset
from annotator.quality.services import refresh


class Command(BaseCommand):
    help = (
        "Annotator scores, consensus figures and the noise floor of a dataset (the quality page's numbers), "
        "recomputed from the labels."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, dataset, **options):
        ds = Dataset.objects.filter(name=dataset).first()
        if ds is None:
            raise CommandError(f"no dataset named {dataset!r}")
        report = refresh(ds)
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=1))
            return
        self.stdout.write(
            f"{ds.name}: {report['faces_labeled']} faces labeled, {report['faces_with_overlap']} by "
            f"two or more, {report['faces_needing_review']} need review; dispersion median "
            f"{_deg(report['dispersion_median'])}"
        )
        self.stdout.write(
            f"{'annotator':<20}{'faces':>7}{'median s':>10}{'honeypot':>10}{'agreement':>11}"
            f"{'moved':>8}{'outliers':>10}{'rejected':>10}{'noise':>8}{'unmoved':>9}"
        )
        for a in report["annotators"]:
            self.stdout.write(
                f"{a['username']:<20}{a['faces']:>7}{_num(a['median_time_s']):>10}"
                f"{_deg(a['honeypot_geodesic_median']):>10}{_deg(a['agreement_geodesic_median']):>11}"
                f"{_deg(a['proposal_moved_median']):>8}{a['consensus_rejected']:>10}{a['rejected']:>10}"
                f"{_deg(a['noise_deg']):>8}{_share(a['accepted_unmoved_share']):>9}"
                + ("  rubber stamp" if a["rubber_stamp"] else "")
            )


def _num(v) -> str:
    return "-" if v is None else f"{v:.1f}"


def _share(v) -> str:
    return "-" if v is None else f"{100 * v:.0f}%"


def _deg(v) -> str:
    return "-" if v is None else f"{v:.2f}°"
