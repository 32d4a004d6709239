from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from annotator.accounts.models import ApiToken
from annotator.accounts.tokens import revoke_token
from annotator.common import jobs, reaper
from annotator.common.job_queue import BrokerUnavailable
from annotator.common.models import Job
from annotator.common.poses import PoseError
from annotator.datasets import importing
from annotator.datasets.models import Assignment, Dataset, Face, Image, Split
from annotator.datasets.selectors import with_counts
from annotator.labeling.models import Annotation, AnnotationRevision
from annotator.proposals.meshes import queue_meshes
from annotator.proposals.models import FaceMesh, Proposal
from annotator.proposals.services import ProposeRequestError, start_proposals
from annotator.quality import services as quality_services
from annotator.sequences.models import Sequence


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 1
    autocomplete_fields = ["user"]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, Job.Kind(k).label) for k in importing.READERS])
    dataset = forms.SlugField(help_text="Created if it does not exist.")
    server_path = forms.CharField(required=False, help_text="A folder or .zip on the server", max_length=1000)
    upload = forms.FileField(required=False, help_text="…or upload a .zip (or, for a video import, the video file)")
    every = forms.IntegerField(min_value=1, initial=1, required=False, help_text="Video import: keep every N-th frame")
    max_frames = forms.IntegerField(min_value=1, required=False, help_text="Video import: at most N frames")

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
    list_display = ["name", "kind", "is_public", "n_images", "n_faces", "n_ground_truth", "n_proposals", "n_annotations"]
    list_filter = ["kind", "is_public"]
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

    def import_view(self, request):
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
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
                importing.queue_import_job(job)
                messages.success(request, f"Import queued as job #{job.pk}.")
                return redirect(reverse("admin:annotator_job_change", args=[job.pk]))
        context = dict(self.admin_site.each_context(request), form=form, title="Import data", opts=self.model._meta)
        return TemplateResponse(request, "admin/annotator/import.html", context)


def progress_bar(job: Job) -> str:
    colour = {"failed": "#b91c1c", "done_with_errors": "#b45309"}.get(job.state, "#2563eb")
    return format_html(
        '<div class="hp-progress" title="{} of {}"><div style="width:{}%;background:{}"></div></div> {}%',
        job.processed, job.total, job.percent, colour, job.percent,
    )


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "dataset", "activity", "progress", "succeeded", "unchanged", "error_count",
                    "created_at"]
    list_filter = ["kind", "state"]
    readonly_fields = [
        "kind", "dataset", "input_name", "upload", "options", "state", "activity", "heartbeat_at", "progress", "total",
        "processed", "succeeded",
        "unchanged", "error_list", "result", "result_file", "created_by", "created_at", "started_at", "finished_at",
    ]
    exclude = ["errors"]
    actions = ["retry", "resume"]

    def has_add_permission(self, request):
        return False  # imports start from Datasets > Import data

    @admin.display(description="progress")
    def progress(self, obj):
        return progress_bar(obj)

    @admin.display(description="errors")
    def error_count(self, obj):
        return len(obj.errors)

    @admin.display(description="errors")
    def error_list(self, obj):
        if not obj.errors:
            return "none"
        return format_html(
            '<table class="hp-errors"><tr><th>file</th><th>problem</th></tr>{}</table>',
            format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", ((e["name"], e["message"]) for e in obj.errors)),
        )

    @admin.action(description="Retry the selected imports")
    def retry(self, request, queryset):
        n = 0
        for job in queryset.filter(kind__in=list(importing.READERS)):
            if job.state in (Job.State.FAILED, Job.State.DONE_WITH_ERRORS):
                jobs.requeue(job)
                importing.queue_import_job(job)
                n += 1
        self.message_user(request, f"{n} import(s) queued again; files already imported are skipped.")

    @admin.display(description="activity")
    def activity(self, obj):
        return obj.activity  # "waiting for a worker", "running (heartbeat 3 s ago)", "stalled (no live worker)"

    @admin.action(description="Resume the selected stuck jobs (queued or running without a live worker)")
    def resume(self, request, queryset):
        stuck = list(jobs.stranded(Job).filter(pk__in=queryset.values("pk")))
        try:
            for job in stuck:
                reaper.resend(job)
        except BrokerUnavailable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        live = queryset.count() - len(stuck)
        self.message_user(request, f"{len(stuck)} stuck job(s) sent to the workers again; work already done is "
                                   f"skipped." + (f" {live} left alone: finished, or a worker holds them." if live else ""))

    def get_urls(self):
        return [path("<int:pk>/resume/", self.admin_site.admin_view(self.resume_view), name="annotator_job_resume"),
                *super().get_urls()]

    def resume_view(self, request, pk):
        """The Resume button of a stuck job's page (POST)."""
        if request.method != "POST" or not self.has_change_permission(request):
            return redirect("admin:annotator_job_change", pk)
        self.resume(request, Job.objects.filter(pk=pk))
        return redirect("admin:annotator_job_change", pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        stuck = job is not None and jobs.stranded(Job).filter(pk=job.pk).exists()
        extra_context = dict(extra_context or {}, refresh=job is not None and not job.is_finished and not stuck,
                             stuck=stuck)
        return super().change_view(request, object_id, form_url, extra_context)


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


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset", "fps", "frame_count", "source"]
    list_filter = ["dataset"]
    search_fields = ["name", "source"]
    readonly_fields = ["frame_count", "created_at"]


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
            n = quality_services.unmark_honeypots(dataset, list(queryset.filter(image__dataset=dataset).values_list("pk", flat=True)))
            self.message_user(request, f"{dataset}: {n} row(s) removed.")


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["face", "proposer", "proposer_version", "score", "created_at"]
    list_filter = ["proposer", "face__image__dataset"]
    raw_id_fields = ["face"]


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


@admin.register(FaceMesh)
class FaceMeshAdmin(admin.ModelAdmin):
    list_display = ["face", "state", "n_vertices", "n_triangles", "updated_at"]
    list_filter = ["state", "face__image__dataset"]
    readonly_fields = ["face", "state", "message", "glb", "n_vertices", "n_triangles", "provenance", "updated_at"]

    def has_add_permission(self, request):
        return False  # meshes are made by the cpu workers; an add form could not even name the face


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Admins see and revoke anyone's tokens; keys are created by their owners
    (the key is shown once, to them) on /account/tokens/."""

    list_display = ("name", "user", "prefix", "read_only", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("read_only", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "user__username", "prefix")
    readonly_fields = ("user", "name", "prefix", "key_hash", "read_only", "created_at", "expires_at", "last_used_at",
                       "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            revoke_token(token)
        messages.success(request, f"{queryset.count()} token(s) revoked.")
