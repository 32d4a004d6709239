from django.contrib import admin

from annotator.labeling.models import Annotation, AnnotationRevision


class RevisionInline(admin.TabularInline):
    model = AnnotationRevision
    extra = 0
    can_delete = False
    readonly_fields = ["version", "status", "flag_reason", "R", "t", "time_spent_s", "author", "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["face", "origin", "author", "status", "version", "review_state", "updated_at"]
    list_filter = ["origin", "status", "review_state", "dataset"]
    raw_id_fields = ["face", "proposal"]
    readonly_fields = ["version", "total_time_s"]
    inlines = [RevisionInline]
