from django.apps import AppConfig


class AnnotatorConfig(AppConfig):
    name = "annotator"
    verbose_name = "Labeling"

    def ready(self):
        from config import checks  # noqa: F401  (registers the development-mode warning)
