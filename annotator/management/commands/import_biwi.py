from annotator.management.import_command import ImportCommand
from annotator.models import Job


class Command(ImportCommand):
    help = "Import biwi data (a folder or a .zip) into a dataset, with a progress bar."
    kind = Job.Kind.IMPORT_BIWI
