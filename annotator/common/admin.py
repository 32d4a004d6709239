from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import path
from django.utils.html import format_html, format_html_join

from annotator.common import jobs, reaper
from annotator.common.job_queue import BrokerUnavailable
from annotator.common.models import Job
from annotator.datasets import importing


def progress_bar(job: Job) -> str:
    colour = {"failed": "#b91c1c", "done_with_errors": "#b45309"}.get(job.state, "#2563eb")
    return format_html(
        '<div class="hp-progress" title="{} of {}"><div style="width:{}%;background:{}"></div></div> {}%',
        job.processed,
        job.total,
        job.percent,
        colour,
        job.percent,
    )


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "dataset",
        "activity",
        "progress",
        "succeeded",
        "unchanged",
        "error_count",
        "created_at",
    ]
    list_filter = ["kind", "state"]
    readonly_fields = [
        "kind",
        "dataset",
        "input_name",
        "upload",
        "options",
        "state",
        "activity",
        "heartbeat_at",
        "progress",
        "total",
        "processed",
        "succeeded",
        "unchanged",
        "error_list",
        "result",
        "result_file",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
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
                importing.queue_import_job(job, upload_server_path=False)  # nothing copied in a web request
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
        self.message_user(
            request,
            f"{len(stuck)} stuck job(s) sent to the workers again; work already done is "
            f"skipped." + (f" {live} left alone: finished, or a worker holds them." if live else ""),
        )

    def get_urls(self):
        return [
            path("<int:pk>/resume/", self.admin_site.admin_view(self.resume_view), name="annotator_job_resume"),
            *super().get_urls(),
        ]

    def resume_view(self, request, pk):
        """The Resume button of a stuck job's page (POST)."""
        if request.method != "POST" or not self.has_change_permission(request):
            return redirect("admin:annotator_job_change", pk)
        self.resume(request, Job.objects.filter(pk=pk))
        return redirect("admin:annotator_job_change", pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        stuck = job is not None and jobs.stranded(Job).filter(pk=job.pk).exists()
        extra_context = dict(
            extra_context or {}, refresh=job is not None and not job.is_finished and not stuck, stuck=stuck
        )
        return super().change_view(request, object_id, form_url, extra_context)
