from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from annotator.common.body_limits import body_limit
from annotator.common.models import Job
from annotator.common.poses import PoseError
from annotator.datasets import importing
from annotator.datasets.models import Assignment, Dataset, Face, Image, Split
from annotator.datasets.selectors import with_counts
from annotator.proposals.meshes import queue_meshes
from annotator.proposals.services import ProposeRequestError, start_proposals
from annotator.quality import services as quality_services
from workers.core.formats.records import MAX_EVERY, MAX_FRAME_INDEX


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 1
    autocomplete_fields = ["user"]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, Job.Kind(k).label) for k in importing.READERS])
    dataset = forms.SlugField(help_text="Created if it does not exist.")
    server_path = forms.CharField(required=False, help_text="A folder or .zip on the server", max_length=1000)
    upload = forms.FileField(required=False, help_text="…or upload a .zip (or, for a video import, the video file)")
    every = forms.IntegerField(
        min_value=1, max_value=MAX_EVERY, initial=1, required=False, help_text="Video import: keep every N-th frame"
    )
    max_frames = forms.IntegerField(
        min_value=1, max_value=MAX_FRAME_INDEX + 1, required=False, help_text="Video import: at most N frames"
    )

    def clean(self):
        data = super().clean()
        if not data.get("server_path") and not data.get("upload"):
            raise forms.ValidationError("Name a folder or .zip on the server, or upload a .zip.")
        if data.get("server_path") and data.get("upload"):
            raise forms.ValidationError("Choose either a server path or an upload, not both.")
        return data


def _count_column(field: str, label: str):
    """A sortable list column for one of selectors.with_counts' figures."""

    @admin.display(description=label, ordering=field)
    def column(self, obj):
        return getattr(obj, field)

    return column


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "is_public",
        "n_images",
        "n_faces",
        "n_ground_truth",
        "n_proposals",
        "n_annotations",
    ]
    list_filter = ["kind", "is_public", "queue_sequence_frames"]
    search_fields = ["name", "description"]
    inlines = [AssignmentInline]
    actions = ["propose_poses", "build_meshes"]

    @admin.action(description="Propose poses (the proposer annotators see) on the workers")
    def propose_poses(self, request, queryset):
        for dataset in queryset:
            try:
                job = start_proposals(dataset=dataset, user=request.user)
            except ProposeRequestError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return
            self.message_user(request, f"{dataset}: proposals queued as job #{job.pk} ({job.options['proposer']}).")

    @admin.action(description="Build face meshes on the workers")
    def build_meshes(self, request, queryset):
        ids = list(Face.objects.filter(image__dataset__in=queryset).values_list("pk", flat=True))
        queue_meshes(ids)
        self.message_user(request, f"{len(ids)} face meshes queued.")

    def get_queryset(self, request):
        return with_counts(super().get_queryset(request))

    n_images = _count_column("n_images", "images")
    n_faces = _count_column("n_faces", "faces")
    n_ground_truth = _count_column("n_ground_truth", "ground truth")
    n_proposals = _count_column("n_proposals", "proposals")
    n_annotations = _count_column("n_annotations", "annotations")

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="annotator_dataset_import"),
        ] + super().get_urls()

    @body_limit("HEADPOSE_MAX_IMPORT_UPLOAD_BYTES")
    def import_view(self, request):
        """Needs the permission to add datasets (a new dataset) or to change them
        (more data in an existing one); staff without either get a 403."""
        may_add, may_change = self.has_add_permission(request), self.has_change_permission(request)
        if not (may_add or may_change):
            raise PermissionDenied("Importing data needs the permission to add or change datasets.")
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            name = form.cleaned_data["dataset"]
            exists = Dataset.objects.filter(name=name).exists()
            try:
                if exists and not may_change:
                    raise importing.ImportRequestError(f"dataset {name!r} exists and you may not change datasets.")
                if not exists and not may_add:
                    raise importing.ImportRequestError(f"dataset {name!r} does not exist and you may not add datasets.")
                if form.cleaned_data["server_path"]:
                    importing.check_server_path_size(form.cleaned_data["server_path"])
                job = importing.create_import_job(
                    kind=form.cleaned_data["kind"],
                    dataset_name=form.cleaned_data["dataset"],
                    server_path=form.cleaned_data["server_path"],
                    upload=form.cleaned_data["upload"],
                    user=request.user,
                    every=form.cleaned_data.get("every") or 1,
                    max_frames=form.cleaned_data.get("max_frames"),
                )
            except importing.ImportRequestError as exc:
                form.add_error(None, str(exc))
            else:
                importing.queue_import_job(job, upload_server_path=False)  # a server path is read on the worker
                messages.success(request, f"Import queued as job #{job.pk}.")
                return redirect(reverse("admin:annotator_job_change", args=[job.pk]))
        context = dict(self.admin_site.each_context(request), form=form, title="Import data", opts=self.model._meta)
        return TemplateResponse(request, "admin/annotator/import.html", context)


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["file_name", "dataset", "sequence", "frame_index", "width", "height", "checksum_short"]
    list_filter = ["dataset"]
    search_fields = ["file_name", "checksum"]
    readonly_fields = ["checksum", "size_bytes", "preview"]

    @admin.display(description="sha256")
    def checksum_short(self, obj):
        return obj.checksum[:12]

    @admin.display(description="preview")
    def preview(self, obj):
        url = reverse("label-image", args=[obj.pk])  # media has no public URL
        return format_html('<img src="{}" style="max-width:480px;max-height:480px">', url) if obj.file else ""


@admin.register(Face)
class FaceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "landmark_scheme", "landmarks_provenance"]
    list_filter = ["image__dataset", "landmark_scheme"]
    search_fields = ["image__file_name"]
    raw_id_fields = ["image"]
    actions = ["mark_honeypots", "unmark_honeypots"]

    @admin.action(description="Mark as honeypots (faces with ground truth or a reviewer-approved label)")
    def mark_honeypots(self, request, queryset):
        for dataset_id in set(queryset.values_list("image__dataset", flat=True)):
            dataset = Dataset.objects.get(pk=dataset_id)
            ids = list(queryset.filter(image__dataset=dataset).values_list("pk", flat=True))
            try:
                made = quality_services.mark_honeypots(dataset, ids, by=request.user)
            except PoseError as exc:
                self.message_user(request, f"{dataset}: {exc}", messages.ERROR)
                continue
            self.message_user(request, f"{dataset}: {len(made)} honeypot(s).")

    @admin.action(description="Unmark as honeypots")
    def unmark_honeypots(self, request, queryset):
        for dataset_id in set(queryset.values_list("image__dataset", flat=True)):
            dataset = Dataset.objects.get(pk=dataset_id)
            n = quality_services.unmark_honeypots(
                dataset, list(queryset.filter(image__dataset=dataset).values_list("pk", flat=True))
            )
            self.message_user(request, f"{dataset}: {n} row(s) removed.")


@admin.register(Split)
class SplitAdmin(admin.ModelAdmin):
    list_display = ["dataset", "name", "version", "size", "created_at"]
    list_filter = ["dataset"]
    readonly_fields = ["definition", "sample_names"]
    exclude = ["images"]

    @admin.display(description="images")
    def size(self, obj):
        return len(obj.sample_names)


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["dataset", "user", "role", "created_at"]
    list_filter = ["dataset", "role"]
    autocomplete_fields = ["user"]
