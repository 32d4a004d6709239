from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.static import serve

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include("annotator.api.urls")),
    path("", include("annotator.urls")),
    path("", include("annotator.label_urls")),
    path("benchmarks/", include("evaluation.urls")),
]

if settings.DEBUG:
    # Media in development only; production serves MEDIA_ROOT from the web server.
    urlpatterns += [path("media/<path:path>", login_not_required(serve), {"document_root": settings.MEDIA_ROOT})]
