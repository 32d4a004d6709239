"""The accounts feature's routes: `urlpatterns` (pages and /api/label/, included by
annotator/urls.py) and `api_urlpatterns` (/api/v1/, included by annotator/api_urls.py)."""

from django.urls import path

from annotator.accounts import api, views

urlpatterns = [
    path("account/tokens/", views.token_list, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("api/label/keymap/", api.KeymapAPI.as_view(), name="api-label-keymap"),
]

api_urlpatterns = [
    path("me/", api.MeAPI.as_view(), name="api-me"),
    path("tokens/", api.TokenListAPI.as_view(), name="api-tokens"),
    path("tokens/<int:pk>/", api.TokenDetailAPI.as_view(), name="api-token"),
]
