from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from annotator.accounts.views import throttled_login

# No /media/ route, in development either: images, meshes, exports and uploaded
# predictions are private, and each is served by a view that checks who asks
# (annotator/common/files.py; X-Accel-Redirect / X-Sendfile for a front proxy).

# Both login pages pass the login throttle first (annotator/accounts/throttle.py);
# the admin's before admin.site.urls builds its routes from admin.site.login.
admin.site.login = throttled_login(admin.site.login)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", throttled_login(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include("annotator.api_urls")),
    path("", include("annotator.urls")),
    path("benchmarks/", include("evaluation.urls")),
]

# 403 and 404 pages inside the site's layout (the navigation kept), saying what to do
handler403 = "annotator.common.error_pages.permission_denied"
handler404 = "annotator.common.error_pages.page_not_found"
