from annotator.common.models import Job
from annotator.management.import_command import ImportCommand


class Command(ImportCommand):
    help = "Import aflw2000 data (a folder or a .zip) into a dataset, with a progress bar."
    kind = Job.Kind.IMPORT_AFLW2000
