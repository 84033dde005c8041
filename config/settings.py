"""Cashback Center settings: one file, read from the environment.

Every variable has a default that runs the whole application on a laptop with nothing
installed (SQLite, Celery's filesystem broker). The production variables are listed in
the README; with them and DEBUG off, `manage.py check --deploy` is clean.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    return os.environ.get(name, default).strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: str) -> int:
    return int(os.environ.get(name, default))


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Local state of the embedded defaults (SQLite file, filesystem broker, beat schedule).
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

# Django's own check --deploy flags this default (it starts with "django-insecure-").
SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-cashback-center-local-development-only")
DEBUG = envbool("DEBUG", "False")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    # In dependency order (tests/test_layering.py keeps it): core <- sellers <- orders <-
    # cashback <- fees, and wallet <- cashback; wallet is a plain ledger that knows no program.
    "core",
    "sellers",
    "orders",
    "wallet",
    "cashback",
    "fees",
    # Wires the apps together: health check, cross-app commands (seed_demo).
    "config",
]

MIDDLEWARE = [
    "config.middleware.HealthCheckMiddleware",
    "config.middleware.ApiNoStoreMiddleware",
    "config.middleware.PageBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # last: it answers a locked-out sign-in
    "axes.middleware.AxesMiddleware",
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
                "sellers.context_processors.seller_center",
            ],
        },
    },
]

# Database: PostgreSQL by one variable, a SQLite file otherwise.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'cashback-center.sqlite3'}",
        conn_max_age=envint("DB_CONN_MAX_AGE", "60"),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: WAL lets readers run beside one writer, and
    # IMMEDIATE transactions take the write lock up front instead of failing half way.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    VAR_DIR.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "sellers.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-in attempts are counted (django-axes) for the Seller Center and the admin alike: after
# AXES_FAILURE_LIMIT failures for a username from one address, that pair is locked out for
# AXES_COOLOFF_MINUTES; a success resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "sellers.backends.ModelBackendWithShop",
]
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", "15"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "sellers/locked_out.html"
AXES_IPWARE_PROXY_COUNT = envint("PROXY_COUNT", "0")
AXES_VERBOSE = False

LOGIN_URL = "seller:login"
LOGIN_REDIRECT_URL = "seller:home"
LOGOUT_REDIRECT_URL = "seller:login"

LANGUAGE_CODE = "en-us"
# Stored times are UTC; months, weeks and days are counted in this zone.
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# HTTPS: one switch for a deployment behind TLS. HTTPS_ONLY turns on the redirect, secure
# cookies and HSTS; TRUST_X_FORWARDED_PROTO is for a proxy that terminates TLS.
HTTPS_ONLY = envbool("HTTPS_ONLY", "False")
SECURE_SSL_REDIRECT = HTTPS_ONLY
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000" if HTTPS_ONLY else "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", str(HTTPS_ONLY))
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", str(HTTPS_ONLY))
if envbool("TRUST_X_FORWARDED_PROTO", "False"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Every page loads its scripts, styles and images from this site only: no inline script or
# style, no other origin, no framing. The API docs page adds only its own inline style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# A shared cache (Redis) in production, so that API rate limits hold across processes; each
# process counts on its own without it.
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Request bodies. The API's largest valid request, a bulk of 1,000 orders of 100 items with
# every field at its longest, is 34.9 MB as json.dumps writes it and 40.9 MB indented by two
# spaces (tests/orders/test_body_limit.py posts it): it fits, and a larger body is a JSON
# 413. Every other path keeps Django's default (config.middleware.PageBodyLimitMiddleware),
# so that a sign-in form cannot be made to read 40 MiB.
DATA_UPLOAD_MAX_MEMORY_SIZE = 40 * 1024 * 1024
PAGE_DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# REST API for integrators: bearer API keys only, JSON only, deny by default.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["sellers.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["sellers.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
    # Escape non-ASCII in answers: an error that quotes bad input back can always be written.
    "UNICODE_JSON": False,
    # Requests a minute, per API key (sellers.throttling); 429 with Retry-After beyond.
    "DEFAULT_THROTTLE_CLASSES": ["sellers.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": os.environ.get("API_RATE_LIMIT", "1200/min")},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Cashback Center API",
    "DESCRIPTION": (
        "The integrators' API of Cashback Center. Authenticate every request with "
        "`Authorization: Bearer <key>`, using a key created in the Seller Center under "
        "API keys. Amounts are strings with two decimals, rates are percentage strings, "
        "times are ISO 8601 with an offset."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Served by the app itself: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.currencies_are_codes",
        "core.api.schema.api_answers_are_not_stored",
    ],
    "ENUM_NAME_OVERRIDES": {
        "RegistrationStatusEnum": "cashback.models.RegistrationStatus.choices",
        "OrderStatusEnum": "orders.models.OrderStatus.choices",
        "CashbackStatusEnum": ["none", "waiting", "pending", "credited", "voided"],
        "MonthStatusEnum": ["open", "waiting_fx", "closed"],
    },
}

# Celery. Without CELERY_BROKER_URL, the filesystem transport under var/ lets web, worker
# and beat run with no service installed.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_FOLDER = VAR_DIR / "broker"
if CELERY_BROKER_URL == "filesystem://":
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
    }
else:
    # Longer than any task may run, so that an unacknowledged task is redelivered only
    # when its worker died.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# The queue tasks are sent to and workers read; a separate one keeps a benchmark's or a
# second deployment's workers apart on a shared Redis.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
# A task is acknowledged after it ran, and given back when its worker dies: every task is
# an idempotent service call, so running one again is harmless and losing one is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", "1500")
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", "1800")
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Beat runs in UTC from this static schedule; each job computes its month and week
# boundaries in TIME_ZONE. The entries arrive with their jobs.
CELERY_BEAT_SCHEDULE: dict = {
    "settle-fees": {
        "task": "fees.tasks.settle_fees",
        "schedule": crontab(minute=30, hour=0),
    },
    # Daily: the work falls on the 1st (the month before), and on any day a late order or an
    # FX rate makes a month closable.
    "close-months": {
        "task": "cashback.tasks.close_months",
        "schedule": crontab(minute=15, hour=0),
    },
    "credit-cashback": {
        "task": "cashback.tasks.credit_cashback",
        "schedule": crontab(minute=45),
    },
    # Hourly: each seller's month so far, which the dashboard adds the last hour's orders to.
    "roll-up-months": {
        "task": "cashback.tasks.roll_up_months",
        "schedule": crontab(minute=5),
    },
}

# Service fees are settled in periods of this many days, starting on Mondays.
FEE_SETTLEMENT_PERIOD_DAYS = envint("FEE_SETTLEMENT_PERIOD_DAYS", "7")
# A job fanned out over sellers sends them to workers in chunks of this many.
JOB_CHUNK_SELLERS = envint("JOB_CHUNK_SELLERS", "500")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
