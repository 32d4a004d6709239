"""HeadPose Studio settings, read from the environment.

Importing this module has no side effects: it creates no folder, opens no
connection and writes no file. HEADPOSE_ENV picks the mode (config/modes.py):
development by default (works in a fresh shell), production refuses unsafe
settings and turns the HTTPS protections on.
"""

import hashlib
import sys
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import modes
from config.env import env, envbool, envint, envlist
from config.storage import media_storage
from workers.core.pose_rules import SAFE_DEPTH_MM

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env("HEADPOSE_DATA_DIR", BASE_DIR / "data"))

HEADPOSE_ENV = modes.mode_from(env("HEADPOSE_ENV"))
PRODUCTION = HEADPOSE_ENV == "production"

DEBUG = envbool("DEBUG", "False" if PRODUCTION else "True")
SECRET_KEY = env("SECRET_KEY")
SECRET_KEY_FROM_ENV = bool(SECRET_KEY)
if not SECRET_KEY and not PRODUCTION:
    SECRET_KEY = modes.lazy_stored_secret_key(DATA_DIR)

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

# HTTPS: on by default in production, each switch overridable from the environment.
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", str(PRODUCTION))
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", str(PRODUCTION))
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", str(PRODUCTION))
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", str(PRODUCTION))
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", str(PRODUCTION))
# Behind a proxy that terminates TLS: the header it sets, e.g. X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = modes.proxy_ssl_header(env("SECURE_PROXY_SSL_HEADER"))

INSTALLED_APPS = [
    # first: its runserver (config/devserver.py) overrides staticfiles' one
    "config",
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
    # first: every response gets the Content-Security-Policy, static files included (config/csp.py)
    "config.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # outside the session and authentication middleware: their database and broker
    # errors come back to it, and it answers 503 instead of 500 (annotator/common/middleware.py)
    "annotator.common.middleware.OutageMiddleware",
    "config.middleware.RefuseNulInQuery",
    # before anything reads request.POST: a body over its endpoint's cap is refused unread
    "annotator.common.body_limits.RequestBodyLimitMiddleware",
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
        # the shared layout (templates/), then each feature package's own pages (annotator/<feature>/templates/,
        # one app with a package per feature: APP_DIRS sees only annotator/templates/); evaluation's are its app's
        "DIRS": [BASE_DIR / "templates", *sorted((BASE_DIR / "annotator").glob("*/templates"))],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.csp.nonce",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'headpose.sqlite3'}"))}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Creates the folder of the file on first connection (a fresh clone has no data/).
    DATABASES["default"]["ENGINE"] = "config.db.sqlite3"
    # A file, not memory: Celery worker processes started by the tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-headpose.sqlite3")}
    # `make run`'s web server and Celery worker processes write at once: WAL lets readers
    # go on while one writes, a writer waits up to 20 s for the lock instead of failing
    # with "database is locked", and a transaction takes the write lock when it begins
    # (IMMEDIATE), so one that read first never fails to upgrade mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": envint("SQLITE_BUSY_TIMEOUT_S", 20),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),
    }
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
# No URL serves MEDIA_ROOT: every stored file goes through a view that checks
# access (annotator/stored_files.py), streamed by Django or handed to the proxy.
MEDIA_ROOT = Path(env("MEDIA_ROOT", DATA_DIR / "media"))
# Who sends a stored file once a view allowed it: "django" (streams it),
# "x-accel-redirect" (nginx: an internal location at HEADPOSE_X_ACCEL_PREFIX
# aliased to MEDIA_ROOT) or "x-sendfile" (Apache mod_xsendfile).
HEADPOSE_FILE_SERVING = env("HEADPOSE_FILE_SERVING", "django").strip().lower()
if HEADPOSE_FILE_SERVING not in ("django", "x-accel-redirect", "x-sendfile"):
    raise ImproperlyConfigured(
        f"HEADPOSE_FILE_SERVING must be django, x-accel-redirect or x-sendfile, not {HEADPOSE_FILE_SERVING!r}."
    )
HEADPOSE_X_ACCEL_PREFIX = env("HEADPOSE_X_ACCEL_PREFIX", "/protected-media/")
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Real data and optional model weights (never copied into the project).
HEADPOSE_SHARED_DIR = Path(env("HEADPOSE_SHARED_DIR", BASE_DIR.parent / "shared")).resolve()
HEADPOSE_WEIGHTS_DIR = Path(env("HEADPOSE_WEIGHTS_DIR", HEADPOSE_SHARED_DIR / "weights")).resolve()
# The proposer annotators see; "auto" = fused when weights exist, else the default.
HEADPOSE_PROPOSER = env("HEADPOSE_PROPOSER", "auto")
# The labeling page marks a proposal "low confidence" below this (confidence.py:
# 0.45 = an expected error of about 4 deg).
HEADPOSE_LOW_CONFIDENCE = float(env("HEADPOSE_LOW_CONFIDENCE", "0.45"))
HEADPOSE_IMPORT_MAX_BYTES = envint("HEADPOSE_IMPORT_MAX_BYTES", 2 * 1024**3)
# Propose poses for newly imported images, and mesh faces that got landmarks.
HEADPOSE_AUTO_PROPOSE = envbool("HEADPOSE_AUTO_PROPOSE", "True")
HEADPOSE_AUTO_MESH = envbool("HEADPOSE_AUTO_MESH", "True")
# Exports of up to this many faces are answered in the request; larger ones run as a job.
HEADPOSE_EXPORT_STREAM_MAX_FACES = envint("HEADPOSE_EXPORT_STREAM_MAX_FACES", 20000)
# The home, dataset and quality pages count a dataset of fewer faces on the request (exact);
# a larger one's figures and quality report are counted by a worker, and a page shows them
# with their age, sent again for counting once older than HEADPOSE_SUMMARY_MAX_AGE_S.
HEADPOSE_SUMMARY_INLINE_FACES = envint("HEADPOSE_SUMMARY_INLINE_FACES", 5000)
HEADPOSE_SUMMARY_MAX_AGE_S = envint("HEADPOSE_SUMMARY_MAX_AGE_S", 60)
# JSON request bodies: larger ones are refused from their Content-Length (413), deeper ones are a 400.
HEADPOSE_MAX_JSON_BYTES = envint("HEADPOSE_MAX_JSON_BYTES", 1024 * 1024)
HEADPOSE_MAX_JSON_DEPTH = envint("HEADPOSE_MAX_JSON_DEPTH", 64)
# Every other request body (forms, multipart, JSON) is refused above this from its
# Content-Length, before it is read (413); uploads of predictions and admin imports
# have their own caps (annotator/common/body_limits.py).
HEADPOSE_MAX_BODY_BYTES = envint("HEADPOSE_MAX_BODY_BYTES", max(2 * 1024 * 1024, HEADPOSE_MAX_JSON_BYTES))
HEADPOSE_MAX_IMPORT_UPLOAD_BYTES = envint("HEADPOSE_MAX_IMPORT_UPLOAD_BYTES", HEADPOSE_IMPORT_MAX_BYTES)
# Abuse limits (annotator/accounts/throttle.py): failed logins per account and per
# address, and bad API tokens per address, in a window of HEADPOSE_LOGIN_WINDOW_S; 429 above.
HEADPOSE_LOGIN_WINDOW_S = envint("HEADPOSE_LOGIN_WINDOW_S", 15 * 60)
HEADPOSE_LOGIN_FAILURES_PER_ACCOUNT = envint("HEADPOSE_LOGIN_FAILURES_PER_ACCOUNT", 5)
HEADPOSE_LOGIN_FAILURES_PER_ADDRESS = envint("HEADPOSE_LOGIN_FAILURES_PER_ADDRESS", 20)
HEADPOSE_TOKEN_FAILURES_PER_ADDRESS = envint("HEADPOSE_TOKEN_FAILURES_PER_ADDRESS", 20)
# The header the front proxy sets to the client's address (X-Real-IP, or X-Forwarded-For:
# its last address is used); empty: REMOTE_ADDR. Never name a header the proxy does not overwrite.
HEADPOSE_CLIENT_IP_HEADER = env("HEADPOSE_CLIENT_IP_HEADER", "").strip()
# A stored head position has z <= this and |x|, |y| <= this (mm), and the whole head
# at least 10 mm in front of the camera; see workers/core/pose_rules.py.
HEADPOSE_MAX_DEPTH_MM = envint("HEADPOSE_MAX_DEPTH_MM", 10_000)
if HEADPOSE_MAX_DEPTH_MM < SAFE_DEPTH_MM:  # a head turned away could never be stored
    raise ImproperlyConfigured(
        f"HEADPOSE_MAX_DEPTH_MM={HEADPOSE_MAX_DEPTH_MM} is under {SAFE_DEPTH_MM:g} mm, the depth a head "
        "turned away from the camera needs (the head's radius plus the clearance; workers/core/pose_rules.py)."
    )
# Uploaded prediction files (leaderboard): size and row limits; see workers/core/predictions.py.
HEADPOSE_MAX_PREDICTION_BYTES = envint("HEADPOSE_MAX_PREDICTION_BYTES", 32 * 1024 * 1024)
HEADPOSE_MAX_PREDICTION_ROWS = envint("HEADPOSE_MAX_PREDICTION_ROWS", 1_000_000)
# A face whose annotators' labels spread more than this (median geodesic distance to
# their consensus, degrees) goes to review; see annotator/quality.py.
HEADPOSE_CONSENSUS_REVIEW_DEG = float(env("HEADPOSE_CONSENSUS_REVIEW_DEG", "5"))

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
    "workers.tasks.build_sequence_tracks": {"queue": "cpu"},
    "workers.tasks.ping": {"queue": "default"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "False")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "annotator.accounts.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "annotator.accounts.auth.ReadOnlyTokenPermission",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "annotator.common.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "annotator.common.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "annotator.common.pagination.IdCursorPagination",
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
        "RejectReasonEnum": "annotator.models.RejectReason",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "WARNING")},
}

if PRODUCTION:
    modes.refuse_unsafe_production(
        modes.production_problems(
            debug=DEBUG,
            secret_key=SECRET_KEY,
            allowed_hosts=ALLOWED_HOSTS,
            database_engine=DATABASES["default"]["ENGINE"],
        )
    )

# --- Serving and Redis outages (issue 13) ------------------------------------
# The development server starts a thread per client connection; a persistent
# database connection per thread piled up idle until PostgreSQL refused more,
# and a new connection per request costs 5-10 ms (a PostgreSQL backend forks).
# So it borrows from a bounded pool (psycopg_pool): at most
# DEVSERVER_DB_POOL_MAX connections, each health-checked when lent.
# Sync gunicorn workers and Celery processes are single-threaded and keep one.
RUNNING_DEVSERVER = sys.argv[1:2] == ["runserver"]
DEVSERVER_DB_POOL = RUNNING_DEVSERVER and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = 0 if RUNNING_DEVSERVER else envint("DATABASE_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database host that drops packets (rather than refusing) would hold a request until
    # the kernel gives up (minutes); after this the request answers 503 (annotator/common/middleware.py).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", envint("DATABASE_CONNECT_TIMEOUT_S", 5)
    )
if DEVSERVER_DB_POOL:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": envint("DEVSERVER_DB_POOL_MAX", 8),
        # the wait for a free connection, and for a new one while the database is down (then 503)
        "timeout": envint("DEVSERVER_DB_POOL_TIMEOUT_S", 10),
    }

# whitenoise serves STATIC_ROOT (collectstatic); STATIC_MANIFEST=1 (make serve)
# adds content-hashed names, cached forever, and gzip. Off, {% static %} needs no
# collectstatic (tests, make run).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "whitenoise.middleware.WhiteNoiseMiddleware"
)
# Media go through Django's storage API only: the local MEDIA_ROOT or an
# S3-compatible bucket, by HEADPOSE_STORAGE (config/storage.py).
HEADPOSE_STORAGE = env("HEADPOSE_STORAGE", "filesystem").strip().lower()
if HEADPOSE_STORAGE == "s3" and HEADPOSE_FILE_SERVING != "django":
    raise ImproperlyConfigured(
        "HEADPOSE_FILE_SERVING hands a local file to the proxy; with HEADPOSE_STORAGE=s3 "
        "leave it at django (files are answered with a presigned URL)."
    )
STORAGES = {
    "default": media_storage(env),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if envbool("STATIC_MANIFEST")
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Sessions live in the database, read through the Redis cache; when Redis is
# down the cache misses instead of raising (config/cache.py), so pages and the
# API keep answering.
CACHES = {
    "default": {
        "BACKEND": "config.cache.FailSoftRedisCache",
        "LOCATION": env("CACHE_URL", REDIS_URL),
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", "headpose"),
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# A request that cannot reach the job queue answers 503 (annotator/common/job_queue.py,
# OutageMiddleware above), as does one that cannot reach the database.

# Fail fast when the broker is down: a request that starts a job answers 503 in
# milliseconds (connection refused) or about 3 s (a Redis that accepts but hangs),
# instead of Celery's default retries (measured: 19 s with Redis refusing
# connections, over 100 s with one that hangs).
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "socket_connect_timeout": 1, "socket_timeout": 3}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
}
# Job state lives in the database; nothing reads task results. Storing none keeps
# the web processes from subscribing to a result channel per task sent.
CELERY_TASK_IGNORE_RESULT = True
# Workers wait out a broker outage of any length, then consume again.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None

# No stranded job (annotator/leases.py, annotator/reaper.py; docs/FAILURES.md).
# A running task renews its row's lease (heartbeat_at) every lease/4 from a thread,
# so the lease only runs out when the process running it is gone; the reaper, in
# every worker every HEADPOSE_REAP_EVERY_S and at worker start, re-sends work whose
# lease ran out. A re-sent task claims its row first and does nothing while another
# worker holds a fresh lease, so an early re-send costs one no-op message.
HEADPOSE_JOB_LEASE_S = envint("HEADPOSE_JOB_LEASE_S", 120)
HEADPOSE_REAP_EVERY_S = float(env("HEADPOSE_REAP_EVERY_S", "60"))
# A job's named temporary files (an import's local copy of its upload), a folder
# per job: a killed run's are removed by the next run or a reaper (annotator/common/job_tmp.py).
# In the host's own temporary folder, not the data folder: a worker on another host may
# have no (writable) copy of it. Named after the data folder, so two deployments on one
# host never sweep each other's jobs.
HEADPOSE_JOB_TMP_DIR = Path(
    env(
        "HEADPOSE_JOB_TMP_DIR",
        Path(tempfile.gettempdir()) / f"headpose-jobs-{hashlib.sha1(str(DATA_DIR).encode()).hexdigest()[:10]}",
    )
)
# Redis re-delivers a message not acked (acks_late) within the visibility timeout,
# even to a second worker while the first is still running it. The reaper, not
# this, recovers from a dead worker (within lease + reap interval, about 3 min), so
# the timeout only has to be longer than the longest task (a proposer run over a
# large benchmark on CPU, or a multi-GB import: under 2 h here) and a
# re-delivery of a live task stays rare: 3 h. Any re-delivery is harmless anyway
# (claims, done batches, per-face meshes).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT_S", 3 * 3600),
}
# --- end of serving and Redis outages -----------------------------------------
