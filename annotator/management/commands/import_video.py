from annotator.common.models import Job
from annotator.management.import_command import ImportCommand


class Command(ImportCommand):
    help = (
        "Import a video (mp4, avi, mov, mkv) or a folder / .zip of frames (sorted by name) as sequences, "
        "frames stored as JPEG (quality 95), with a progress bar."
    )
    kind = Job.Kind.IMPORT_VIDEO

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--every", type=int, default=1, help="keep every N-th frame (default 1: all)")
        parser.add_argument("--max-frames", type=int, default=None, help="keep at most N frames per sequence")

    def job_options(self, options: dict) -> dict:
        return {"every": options["every"], "max_frames": options["max_frames"]}
