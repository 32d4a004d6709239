from django.contrib import admin

from annotator.proposals.models import FaceMesh, Proposal


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["face", "proposer", "proposer_version", "score", "created_at"]
    list_filter = ["proposer", "face__image__dataset"]
    raw_id_fields = ["face"]


@admin.register(FaceMesh)
class FaceMeshAdmin(admin.ModelAdmin):
    list_display = ["face", "state", "n_vertices", "n_triangles", "updated_at"]
    list_filter = ["state", "face__image__dataset"]
    readonly_fields = ["face", "state", "message", "glb", "n_vertices", "n_triangles", "provenance", "updated_at"]

    def has_add_permission(self, request):
        return False  # meshes are made by the cpu workers; an add form could not even name the face
