from django.contrib import admin

from evaluation import moderation, proposer_runs
from evaluation.models import Benchmark, Entry


@admin.register(Benchmark)
class BenchmarkAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "version",
        "title",
        "dataset",
        "split",
        "max_abs_angle",
        "crop",
        "error_definition",
        "n_samples",
        "is_seed",
        "created_at",
    ]
    list_filter = ["crop", "error_definition", "is_seed"]
    search_fields = ["name", "title"]
    readonly_fields = ["sample_names", "excluded", "split", "dataset", "version", "created_at"]

    @admin.display(description="samples")
    def n_samples(self, obj):
        return len(obj.sample_names)


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "benchmark",
        "kind",
        "owner",
        "state",
        "matched",
        "expected",
        "mae_mean",
        "is_public",
        "is_hidden",
        "is_baseline",
        "created_at",
    ]
    list_filter = ["kind", "state", "is_public", "is_hidden", "is_baseline", "benchmark"]
    search_fields = ["name", "proposer", "owner__username"]
    exclude = ["per_sample", "details"]
    readonly_fields = [
        "benchmark",
        "benchmark_version",
        "split_version",
        "protocol",
        "kind",
        "proposer",
        "proposer_version",
        "weights_sha256",
        "upload",
        "upload_name",
        "upload_sha256",
        "state",
        "total",
        "processed",
        "expected",
        "matched",
        "missing_sample",
        "mae_yaw",
        "mae_pitch",
        "mae_roll",
        "mae_mean",
        "geodesic_mean",
        "summary",
        "warnings",
        "message",
        "started_at",
        "finished_at",
    ]
    actions = ["hide", "unhide", "mark_baseline", "unmark_baseline", "resume"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("per_sample", "details")

    @admin.action(description="Hide from the leaderboard")
    def hide(self, request, queryset):
        for e in queryset:
            moderation.set_hidden(e, True)

    @admin.action(description="Show on the leaderboard again")
    def unhide(self, request, queryset):
        for e in queryset:
            moderation.set_hidden(e, False)

    @admin.action(description="Mark as baseline")
    def mark_baseline(self, request, queryset):
        for e in queryset:
            moderation.set_baseline(e, True)

    @admin.action(description="Unmark baseline")
    def unmark_baseline(self, request, queryset):
        for e in queryset:
            moderation.set_baseline(e, False)

    @admin.action(description="Resume unfinished proposer runs")
    def resume(self, request, queryset):
        for e in queryset.filter(kind=Entry.Kind.PROPOSER).exclude(state=Entry.State.DONE):
            proposer_runs.resume_entry(e)
