from django.urls import path

from annotator import account_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("datasets/<slug:name>/", views.dataset_detail, name="dataset_detail"),
    path("datasets/<slug:name>/quality/", views.dataset_quality, name="dataset_quality"),
    path("datasets/<slug:name>/export/", account_views.dataset_export, name="dataset_export"),
    path("exports/<int:pk>/", account_views.export_job, name="export_job"),
    path("faces/<int:pk>/", views.face_detail, name="face_detail"),
    path("faces/<int:pk>/mesh.glb", views.face_mesh_glb, name="face_mesh_glb"),
    path("account/tokens/", account_views.token_list, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", account_views.token_revoke, name="token_revoke"),
]
