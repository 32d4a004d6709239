from django.contrib import admin

from annotator.sequences.models import Sequence


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset", "fps", "frame_count", "source"]
    list_filter = ["dataset"]
    search_fields = ["name", "source"]
    readonly_fields = ["frame_count", "created_at"]
