"""One settings module, driven by environment variables (see README)."""

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from partnerdesk.core.email_url import email_settings
from partnerdesk.core.limits import REQUEST_BODY_MAX

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = Path(os.environ.get("PARTNERDESK_HOME", Path.cwd())).resolve()
VAR_DIR = BASE_DIR / "var"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "dev-only-insecure-key-set-DJANGO_SECRET_KEY-in-production"
)
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]

INSTALLED_APPS = [
    # First, so the portal's registration templates win over the admin's.
    "partnerdesk.web",
    "partnerdesk.core.admin_apps.OperationsAdminConfig",  # django.contrib.admin
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "partnerdesk.core",
    "partnerdesk.accounts",
    "partnerdesk.partners",
    "partnerdesk.events",
    "partnerdesk.benefits",
    "partnerdesk.support",
    "partnerdesk.onboarding",
    "partnerdesk.notices",
    "partnerdesk.webhooks",
    "partnerdesk.api",
    "django_tasks",
    "partnerdesk.core.admin_apps.TaskResultsConfig",  # django_tasks_db
    "partnerdesk.core.admin_apps.TaskQueuesConfig",  # django_rq
    "csp",
    "partnerdesk.core.admin_apps.SignInLockoutsConfig",  # axes
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files, before anything else spends time on them (hashed names: cached a year).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before everything that can fail: under /api/ every answer is problem+json on error.
    "partnerdesk.api.middleware.ApiProblemsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "partnerdesk.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Pages: a friendly "busy, try again" page when the database cannot be had in time,
    # and no caching of pages a signed-in user sees.
    "partnerdesk.web.middleware.PageSafetyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "partnerdesk.urls"
WSGI_APPLICATION = "partnerdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "partnerdesk.notices.context_processors.unread_notices",
            ],
        },
    },
]


# How long a statement waits for a lock another transaction holds before giving up: the
# API then answers 503 busy (Retry-After), a page says "busy, try again", the worker
# retries. SQLite's busy timeout; PostgreSQL's lock_timeout.
DB_BUSY_TIMEOUT = float(os.environ.get("PARTNERDESK_DB_BUSY_TIMEOUT", "5"))


def database_from_env() -> dict:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'partnerdesk.sqlite3'}"
    config = dj_database_url.parse(url, conn_max_age=None, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        config["OPTIONS"] = {
            # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the
            # busy timeout instead of failing with "database is locked" on upgrade.
            "transaction_mode": "IMMEDIATE",
            "timeout": DB_BUSY_TIMEOUT,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
        # A file, not :memory:, so tests see what a deployment sees (and threads share it).
        config["TEST"] = {"NAME": str(Path(config["NAME"]).with_suffix(".test.sqlite3"))}
    elif config["ENGINE"] == "django.db.backends.postgresql":
        # Parameters sent apart from the statement, and statements a connection has run
        # a few times prepared once (psycopg's prepare_threshold): no quoting of every
        # value into the text, no planning of the hot statements on every request.
        config["OPTIONS"] = {
            "server_side_binding": True,
            "prepare_threshold": 5,
            "options": f"-c lock_timeout={int(DB_BUSY_TIMEOUT * 1000)}",
        }
    return config


DATABASES = {"default": database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses sign-ins for an account (and address) locked out after failures.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

# --- Sign in with Microsoft (OpenID Connect through Authlib; accounts/oidc.py) ------------
# Off (no button) unless the discovery URL and the client ID are set. Microsoft Entra,
# work and personal accounts: https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration
OIDC_DISCOVERY_URL = os.environ.get("OIDC_DISCOVERY_URL", "")
OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
# Seconds to wait for the provider (discovery, keys, the code exchange).
OIDC_TIMEOUT = float(os.environ.get("PARTNERDESK_OIDC_TIMEOUT", "10"))
# Who may sign in with a password: everyone (`all`), or only operators (`operators`):
# partner users then sign in with Microsoft only.
PARTNERDESK_PASSWORD_SIGNIN = os.environ.get("PARTNERDESK_PASSWORD_SIGNIN", "all").strip().lower()
if PARTNERDESK_PASSWORD_SIGNIN not in {"all", "operators"}:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("PARTNERDESK_PASSWORD_SIGNIN must be `all` or `operators`")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian")), ("pl", _("Polish"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# One short and one long date per language (see partnerdesk/formats).
FORMAT_MODULE_PATH = ["partnerdesk.formats"]

# The largest request body accepted (413 payload_too_large in the API); see core/limits.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(
    os.environ.get("PARTNERDESK_MAX_BODY_BYTES", str(REQUEST_BODY_MAX))
)

# Attachments: the largest file, and the most a request may hold in all (413 above).
PARTNERDESK_ATTACHMENT_MAX_BYTES = int(
    os.environ.get("PARTNERDESK_ATTACHMENT_MAX_BYTES", str(25 * 1024 * 1024))
)
PARTNERDESK_REQUEST_ATTACHMENTS_MAX_BYTES = int(
    os.environ.get("PARTNERDESK_REQUEST_ATTACHMENTS_MAX_BYTES", str(100 * 1024 * 1024))
)
# Never served from a URL of its own: attachments go out only through the views that
# check who may see the request.
MEDIA_ROOT = Path(os.environ.get("PARTNERDESK_MEDIA_ROOT", str(VAR_DIR / "media")))
# Uploaded files go to temporary files as they arrive, never into memory, and stop being
# written past the attachment limits (core.uploads).
FILE_UPLOAD_HANDLERS = ["partnerdesk.core.uploads.BoundedTemporaryFileUploadHandler"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # The Swagger UI that django-ninja ships, for /api/v1/docs (ninja is no installed app).
    "partnerdesk.api.docs.SwaggerUIFinder",
]


def _storage_options() -> dict:
    try:
        options = json.loads(os.environ.get("PARTNERDESK_STORAGE_OPTIONS") or "{}")
    except ValueError as error:
        raise ImproperlyConfigured(f"PARTNERDESK_STORAGE_OPTIONS is not JSON: {error}") from None
    if not isinstance(options, dict):
        raise ImproperlyConfigured("PARTNERDESK_STORAGE_OPTIONS must be a JSON object")
    return options


# Without DEBUG: content-hashed, compressed copies that `partnerdesk serve` collects into
# STATIC_ROOT (core/staticfiles.py). With DEBUG (development, the test suite): the files
# as they are in the apps' folders.
STORAGES = {
    # Attachments (support.attachments): local disk under MEDIA_ROOT by default; any
    # storage class by PARTNERDESK_STORAGE_BACKEND (e.g. django-storages'
    # storages.backends.s3.S3Storage) with its OPTIONS as JSON in PARTNERDESK_STORAGE_OPTIONS.
    "default": {
        "BACKEND": os.environ.get(
            "PARTNERDESK_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": _storage_options(),
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "partnerdesk.core.staticfiles.HashedStaticFilesStorage"
        )
    },
}
# WhiteNoise also serves from the apps' folders what was not collected (a server started
# without `partnerdesk serve`), under plain names and a short cache.
WHITENOISE_USE_FINDERS = True

# E-mail: EMAIL_URL (smtp://, smtp+tls://, smtp+ssl://, console:; see core/email_url), or
# a backend class named by DJANGO_EMAIL_BACKEND (the file backend in tests, with
# DJANGO_EMAIL_FILE_PATH); both at once is an error; neither prints to the console.
if os.environ.get("EMAIL_URL") and os.environ.get("DJANGO_EMAIL_BACKEND"):
    raise ImproperlyConfigured("EMAIL_URL and DJANGO_EMAIL_BACKEND are both set: set one")
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
if os.environ.get("EMAIL_URL"):
    globals().update(email_settings(os.environ["EMAIL_URL"]))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "partnerdesk@localhost")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
# Behind TLS in production: set PARTNERDESK_HTTPS=0 only where a proxy cannot terminate it.
HTTPS = env_bool("PARTNERDESK_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("PARTNERDESK_HSTS_SECONDS", "31536000" if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
BEHIND_PROXY = env_bool("PARTNERDESK_BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The client address the rate limits count by: the connection's, or, behind one reverse
# proxy, the last address it appended to X-Forwarded-For (never one a client can forge).
NINJA_NUM_PROXIES = 1 if BEHIND_PROXY else 0
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

EMAIL_FILE_PATH = os.environ.get("DJANGO_EMAIL_FILE_PATH", str(VAR_DIR / "mail"))

PARTNERDESK_ACTIVATION_DELAY = int(os.environ.get("PARTNERDESK_ACTIVATION_DELAY", "259200"))
# How often `partnerdesk worker` runs its periodic jobs (due activations, and later
# expiries and notices), in seconds.
PARTNERDESK_PERIODIC_INTERVAL = float(os.environ.get("PARTNERDESK_PERIODIC_INTERVAL", "60"))
# The sweep leaves an activation to its own queued task until it is this many seconds
# overdue, then completes it itself (a task lost with a killed worker, or never enqueued).
PARTNERDESK_SWEEP_GRACE = float(os.environ.get("PARTNERDESK_SWEEP_GRACE", "60"))
# How long a process keeps its copy of the catalog (products, workloads, benefits and
# allotment rules) before reading it again, in seconds; a change saved through the ORM
# drops the copy at once in the saving process (in every process with REDIS_URL).
PARTNERDESK_CATALOG_TTL = float(os.environ.get("PARTNERDESK_CATALOG_TTL", "30"))
PARTNERDESK_PERIODIC_JOBS = [
    "partnerdesk.events.services.events_publish_all",
    "partnerdesk.benefits.activation.activations_complete_due",
    "partnerdesk.benefits.services.entitlements_refresh_due",
    "partnerdesk.api.idempotency.purge_idempotency_keys",
    "partnerdesk.notices.services.notices_send_due",
    "partnerdesk.notices.clock.clock_notices_send_due",
    "partnerdesk.notices.requests.request_notices_opened_due",
]
# --- Webhooks (webhooks/; docs/webhooks.md) ---------------------------------------------
# A second thread of `partnerdesk worker` runs these every PARTNERDESK_DELIVERY_INTERVAL
# seconds: publish the outbox, then fan out and deliver the webhooks that are due.
PARTNERDESK_DELIVERY_JOBS = [
    "partnerdesk.events.services.events_publish_all",
    "partnerdesk.webhooks.services.webhooks_deliver_due",
]
PARTNERDESK_DELIVERY_INTERVAL = float(os.environ.get("PARTNERDESK_DELIVERY_INTERVAL", "1"))
# Loopback and private addresses (tests, single-host setups); never link-local.
PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = env_bool("PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE", False)
PARTNERDESK_WEBHOOKS_CONNECT_TIMEOUT = float(
    os.environ.get("PARTNERDESK_WEBHOOKS_CONNECT_TIMEOUT", "5")
)
PARTNERDESK_WEBHOOKS_TIMEOUT = float(os.environ.get("PARTNERDESK_WEBHOOKS_TIMEOUT", "10"))
# Seconds to wait after each failed try (Standard Webhooks' schedule, about a day in all);
# after the try that follows the last wait the endpoint is failing.
PARTNERDESK_WEBHOOKS_RETRY_SCHEDULE = os.environ.get(
    "PARTNERDESK_WEBHOOKS_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000,36000"
)
# A claimed delivery is another worker's to send after this many seconds (its worker
# died): longer than a try can take (the timeouts above).
PARTNERDESK_WEBHOOKS_LEASE = float(os.environ.get("PARTNERDESK_WEBHOOKS_LEASE", "60"))
PARTNERDESK_WEBHOOKS_CONCURRENCY = int(os.environ.get("PARTNERDESK_WEBHOOKS_CONCURRENCY", "4"))
PARTNERDESK_WEBHOOKS_ROUND_SECONDS = float(
    os.environ.get("PARTNERDESK_WEBHOOKS_ROUND_SECONDS", "30")
)
# Where people reach partnerdesk: the links in e-mails (a request's page) start with it.
PARTNERDESK_BASE_URL = os.environ.get("PARTNERDESK_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# Background tasks: the database queue by default; RQ on Redis when REDIS_URL is set, so
# many web and worker processes can share one queue.
REDIS_URL = os.environ.get("REDIS_URL", "")
RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 300}}
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks_rq.RQBackend" if REDIS_URL else "django_tasks_db.DatabaseBackend"
        ),
        "QUEUES": ["default"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Content-Security-Policy: everything from this origin, nothing inline. The Django admin
# (operators only) keeps its own inline scripts and is left out.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# Sign-in throttling and lockout (django-axes): five failures for one account from one
# address lock it for fifteen minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("PARTNERDESK_SIGNIN_FAILURES", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("PARTNERDESK_LOCKOUT_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
# E-mail addresses are compared case-insensitively, so DAN@… and dan@… share one count.
AXES_USERNAME_CALLABLE = "partnerdesk.accounts.signin.signin_username"

# API rate limits per caller (ninja throttling, api/throttling.py): with REDIS_URL each
# window is counted in Redis in one step, so a limit holds across every web process;
# without it, in each process's own memory.
PARTNERDESK_API_RATE = os.environ.get("PARTNERDESK_API_RATE", "6000/m")
PARTNERDESK_API_ANON_RATE = os.environ.get("PARTNERDESK_API_ANON_RATE", "120/m")
# No wait on Redis without an end: a Redis that does not answer is an error in seconds.
REDIS_TIMEOUTS = {"socket_connect_timeout": 5, "socket_timeout": 5}
if REDIS_URL:
    # The cache (the catalog's version that every process compares, core/snapshot.py) is
    # Redis too: one truth for all processes.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": REDIS_TIMEOUTS,
        }
    }

# --- Tasks that outlive their worker (`partnerdesk worker`; core/reclaim.py) -------------
# A task left running by a dead worker (SIGKILL, out of memory) is queued again after this
# many seconds. Keep it longer than any task's normal run: a task still running on a live
# worker past it is run a second time (harmless, tasks are idempotent, but wasted).
PARTNERDESK_TASK_RECLAIM_AFTER = float(os.environ.get("PARTNERDESK_TASK_RECLAIM_AFTER", "300"))
# Runs of one task in all (the first, then again after a transient database error or after
# its worker died) before it is marked failed.
PARTNERDESK_TASK_ATTEMPTS = int(os.environ.get("PARTNERDESK_TASK_ATTEMPTS", "5"))
# With RQ every job carries a Retry, so that RQ runs an abandoned job again (core/rq_worker).
RQ_QUEUES["default"]["QUEUE_CLASS"] = "partnerdesk.core.rq_worker.RetryingQueue"
