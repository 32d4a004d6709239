from django.urls import path

from annotator.accounts.views import token_list, token_revoke
from annotator.datasets.views import dataset_detail, face_detail, home
from annotator.exports.views import dataset_export, export_job
from annotator.proposals.views import face_mesh_glb
from annotator.quality.views import dataset_quality

urlpatterns = [
    path("", home, name="home"),
    path("datasets/<slug:name>/", dataset_detail, name="dataset_detail"),
    path("datasets/<slug:name>/quality/", dataset_quality, name="dataset_quality"),
    path("datasets/<slug:name>/export/", dataset_export, name="dataset_export"),
    path("exports/<int:pk>/", export_job, name="export_job"),
    path("faces/<int:pk>/", face_detail, name="face_detail"),
    path("faces/<int:pk>/mesh.glb", face_mesh_glb, name="face_mesh_glb"),
    path("account/tokens/", token_list, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", token_revoke, name="token_revoke"),
]
