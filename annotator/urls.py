from django.urls import path

from annotator import views

urlpatterns = [
    path("", views.home, name="home"),
    path("datasets/<slug:name>/", views.dataset_detail, name="dataset_detail"),
    path("faces/<int:pk>/", views.face_detail, name="face_detail"),
    path("faces/<int:pk>/mesh.glb", views.face_mesh_glb, name="face_mesh_glb"),
]
