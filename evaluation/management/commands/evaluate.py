"""python manage.py evaluate --benchmark NAME --predictions FILE [--json] [--save --name N --user U --public]

Validates a prediction file against a benchmark and prints its metrics; a bad
file exits non-zero with the problems listed."""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from evaluation import benchmarks, errors, uploads
from workers.core.predictions import PredictionFileError


class Command(BaseCommand):
    help = "Evaluate a prediction file (CSV/JSON) on a benchmark; --save stores it as a leaderboard entry."

    def add_arguments(self, parser):
        parser.add_argument("--benchmark", required=True, help="name (latest version), name@N, or id")
        parser.add_argument("--predictions", required=True, help="CSV or JSON file")
        parser.add_argument("--json", action="store_true", help="print every metric as JSON")
        parser.add_argument(
            "--allow-unknown-ids",
            action="store_true",
            help="ignore ids not in the benchmark instead of rejecting the file",
        )
        parser.add_argument("--save", action="store_true", help="store the result as a leaderboard entry")
        parser.add_argument("--name", default="", help="entry name (with --save)")
        parser.add_argument("--user", default="", help="entry owner's username (with --save)")
        parser.add_argument("--public", action="store_true", help="make the saved entry public")

    def handle(self, *args, **opts):
        try:
            benchmark = benchmarks.find_benchmark(opts["benchmark"])
        except errors.EvaluationRequestError as exc:
            raise CommandError(str(exc)) from None
        path = Path(opts["predictions"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        with path.open("rb") as fh:
            data = uploads.read_prediction_upload(fh)
        try:
            if opts["save"]:
                owner = None
                if opts["user"]:
                    owner = get_user_model().objects.filter(username=opts["user"]).first()
                    if owner is None:
                        raise CommandError(f"no user {opts['user']!r}")
                entry = uploads.create_upload_entry(
                    benchmark=benchmark,
                    data=data,
                    filename=path.name,
                    user=owner,
                    name=opts["name"] or path.stem,
                    is_public=opts["public"],
                    allow_unknown_ids=opts["allow_unknown_ids"],
                )
                result = dict(entry.summary, entry_id=entry.pk, protocol=entry.protocol, warnings=entry.warnings)
            else:
                ev = uploads.evaluate_file(benchmark, data, path.name, allow_unknown_ids=opts["allow_unknown_ids"])
                result = ev.as_json()
        except PredictionFileError as exc:
            raise CommandError(str(exc)) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if opts["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        cov = result["coverage"]
        self.stdout.write(
            f"{benchmark} ({result['angle_error_definition']} angle errors), "
            f"{cov['matched']} of {cov['expected']} samples"
        )
        for key in ("mae_yaw", "mae_pitch", "mae_roll", "mae_mean", "geodesic_mean", "geodesic_median"):
            if result.get(key) is not None:
                self.stdout.write(f"  {key:16s} {result[key]:8.3f}")
        for w in result.get("warnings", []):
            self.stderr.write(f"warning: {w}")
