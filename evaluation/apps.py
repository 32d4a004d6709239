from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Benchmarks"

    def ready(self):
        # AppConfig.ready: models can be imported only once the app registry is ready.
        # evaluation depends on annotator, never the reverse: it plugs its
        # step into the import pipeline here
        from annotator.common import pipeline
        from evaluation.seeding import after_import

        pipeline.register("import_finished", "benchmarks", after_import)

        from annotator.common import reaper
        from evaluation.models import Entry
        from evaluation.proposer_runs import resend_entry

        reaper.register(Entry, resend_entry)
