from django.core.management.base import BaseCommand, CommandError

from annotator.datasets.models import Dataset
from annotator.datasets.splits import custom_split
from workers.core.formats.records import FormatError
from workers.core.formats.splits import read_name_list


class Command(BaseCommand):
    help = "Create (or version) a custom split of a dataset from a file listing image file names, one per line."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--name", required=True, help="split name, e.g. my-test")
        parser.add_argument("names_file", help="text file: one image file name per line, '#' comments allowed")

    def handle(self, *args, dataset, name, names_file, **options):
        ds = Dataset.objects.filter(name=dataset).first()
        if ds is None:
            raise CommandError(f"no dataset named {dataset!r}")
        try:
            with open(names_file) as fh:
                names = read_name_list(fh.read())
        except OSError as exc:
            raise CommandError(f"{names_file}: {exc.strerror}") from None
        if not names:
            raise CommandError(f"{names_file} lists no file names")
        try:
            split = custom_split(ds, name, names)
        except FormatError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"{split}: {len(split.sample_names)} images"))
