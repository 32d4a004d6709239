from annotator.common.models import Job
from annotator.management.import_command import ImportCommand


class Command(ImportCommand):
    help = "Import biwi data (a folder or a .zip) into a dataset, with a progress bar."
    kind = Job.Kind.IMPORT_BIWI
