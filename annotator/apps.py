from importlib import import_module

from django.apps import AppConfig

# The modules that register a pipeline step (annotator/common/pipeline.py), a
# domain error (annotator/common/errors.py) or signal receivers (accounts/signals.py):
# imported once the app registry is ready.
REGISTERING_MODULES = (
    "annotator.accounts.signals",
    "annotator.datasets.splits",
    "annotator.labeling.queue_entries",
    "annotator.proposals.meshes",
    "annotator.proposals.services",
    "annotator.quality.services",
    "annotator.sequences.services",
)


class AnnotatorConfig(AppConfig):
    name = "annotator"
    verbose_name = "Labeling"

    def ready(self):
        # AppConfig.ready: models can be imported only once the app registry is ready
        from config import checks  # noqa: F401  (registers the development-mode warning)

        for module in REGISTERING_MODULES:
            import_module(module)
