from django.contrib import admin

from annotator.sequences.models import Sequence


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset", "fps", "frame_count", "input_name"]
    list_filter = ["dataset"]
    search_fields = ["name", "input_name"]
    readonly_fields = ["frame_count", "created_at"]
