from django.urls import path

from evaluation import api

urlpatterns = [
    path("benchmarks/", api.BenchmarkListAPI.as_view(), name="api_benchmarks"),
    path("benchmarks/<int:pk>/entries/", api.BenchmarkEntriesAPI.as_view(), name="api_benchmark_entries"),
    path("entries/<int:pk>/", api.EntryAPI.as_view(), name="api_entry"),
]
