from django.urls import path

from evaluation import views

urlpatterns = [
    path("", views.index, name="leaderboard_index"),
    path("<int:pk>/", views.leaderboard, name="leaderboard"),
    path("<int:pk>/upload/", views.upload, name="leaderboard_upload"),
    path("<int:pk>/run/", views.run_proposer, name="leaderboard_run"),
    path("entries/<int:pk>/", views.entry_detail, name="entry_detail"),
    path("entries/<int:pk>/worst/", views.entry_worst, name="entry_worst"),
    path("entries/<int:pk>/samples/<int:k>.jpg", views.sample_overlay, name="entry_sample_overlay"),
    path("entries/<int:pk>/predictions", views.entry_predictions, name="entry_predictions"),
    path("entries/<int:pk>/hide/", views.entry_hide, name="entry_hide"),
    path("entries/<int:pk>/publish/", views.entry_publish, name="entry_publish"),
    path("entries/<int:pk>/resume/", views.entry_resume, name="entry_resume"),
]
