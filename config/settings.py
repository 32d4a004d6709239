"""HeadPose Studio settings, read from the environment.

Importing this module has no side effects: it creates no folder, opens no
connection and writes no file.
"""
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env, envbool, envint, envlist

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env("HEADPOSE_DATA_DIR", BASE_DIR / "data"))

DEBUG = envbool("DEBUG", "False")
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (or set SECRET_KEY_FILE).")
    SECRET_KEY = "insecure-debug-only-key"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular_sidecar",
    "drf_spectacular",
    "annotator",
    "evaluation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RefuseNulInQuery",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'headpose.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory: Celery worker processes started by the tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-headpose.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", DATA_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", DATA_DIR / "media"))
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Real data and optional model weights (never copied into the project).
HEADPOSE_SHARED_DIR = Path(env("HEADPOSE_SHARED_DIR", BASE_DIR.parent / "shared")).resolve()
HEADPOSE_WEIGHTS_DIR = Path(env("HEADPOSE_WEIGHTS_DIR", HEADPOSE_SHARED_DIR / "weights")).resolve()
# The proposer annotators see; "auto" = fused when weights exist, else the default.
HEADPOSE_PROPOSER = env("HEADPOSE_PROPOSER", "auto")
HEADPOSE_IMPORT_MAX_BYTES = envint("HEADPOSE_IMPORT_MAX_BYTES", 2 * 1024**3)
# Propose poses for newly imported images, and mesh faces that got landmarks.
HEADPOSE_AUTO_PROPOSE = envbool("HEADPOSE_AUTO_PROPOSE", "True")
HEADPOSE_AUTO_MESH = envbool("HEADPOSE_AUTO_MESH", "True")
# Exports of up to this many faces are answered in the request; larger ones run as a job.
HEADPOSE_EXPORT_STREAM_MAX_FACES = envint("HEADPOSE_EXPORT_STREAM_MAX_FACES", 20000)
# A stored head position has 0 < z <= this and |x|, |y| <= this (mm); see workers/core/pose_rules.py.
HEADPOSE_MAX_DEPTH_MM = envint("HEADPOSE_MAX_DEPTH_MM", 10_000)
# Uploaded prediction files (leaderboard): size and row limits; see workers/core/predictions.py.
HEADPOSE_MAX_PREDICTION_BYTES = envint("HEADPOSE_MAX_PREDICTION_BYTES", 32 * 1024 * 1024)
HEADPOSE_MAX_PREDICTION_ROWS = envint("HEADPOSE_MAX_PREDICTION_ROWS", 1_000_000)

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = "default"
# A key prefix isolates several deployments (or test runs) sharing one Redis.
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": env("CELERY_KEY_PREFIX", "")} if env("CELERY_KEY_PREFIX") else {}
CELERY_TASK_ROUTES = {
    "workers.tasks.propose_*": {"queue": "gpu"},
    "workers.tasks.evaluate_*": {"queue": "gpu"},
    "workers.tasks.mesh_*": {"queue": "cpu"},
    "workers.tasks.run_export_job": {"queue": "cpu"},
    "workers.tasks.ping": {"queue": "default"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "False")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Sessions are read on every request: keep them in Redis (written through to the
# database), saving a query per request.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("CACHE_URL", REDIS_URL),
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", "headpose"),
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "annotator.api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "annotator.api.auth.ReadOnlyTokenPermission",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 100,
    # `format` is an export option (json, csv, ...), not DRF content negotiation.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "HeadPose Studio API",
    "VERSION": "1.0.0",
    "DESCRIPTION": (
        "Datasets, images, faces, proposals, annotations (with revisions and reviews), exports, benchmarks. "
        "Authenticate with a personal token (`Authorization: Token hps_...`, create one at /account/tokens/) "
        "or a browser session. Poses: R head->camera (OpenCV frame, 3x3 row-major), t in mm, Euler "
        "[yaw, pitch, roll] degrees in the AFLW2000 convention (docs/POSE_CONVENTIONS.md). Lists use cursor "
        "pagination: follow `next` until it is null."
    ),
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI and Redoc from the drf-spectacular-sidecar wheel: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AnnotationStatusEnum": "annotator.models.AnnotationStatus",
        "FlagReasonEnum": "annotator.models.FlagReason",
        "JobKindEnum": "annotator.models.Job.Kind",
        "DatasetKindEnum": "annotator.models.Dataset.Kind",
        "LabelStatusEnum": ["accepted", "corrected", "draft", "flagged", "skipped"],
        "JobStateEnum": "annotator.models.Job.State",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
}
