"""homesafe settings: one file, read from the environment, safe local defaults.

The embedded default (no environment) is SQLite in HOMESAFE_DATA_DIR, an in-memory channel
layer and a local-memory cache. DATABASE_URL switches to PostgreSQL, REDIS_URL enables Redis.
HOMESAFE_PRODUCTION=1 turns on every deployment safeguard (`manage.py check --deploy` is clean).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from homesafe.common.env import env_bool, env_int, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DIR = BASE_DIR / "homesafe"

PRODUCTION = env_bool("HOMESAFE_PRODUCTION", False)
DEBUG = env_bool("HOMESAFE_DEBUG", False) and not PRODUCTION
DATA_DIR = Path(env_str("HOMESAFE_DATA_DIR", str(BASE_DIR / "var"))).resolve()

SECRET_KEY = env_secret("HOMESAFE_SECRET_KEY", default="")
if not SECRET_KEY:
    if PRODUCTION:
        raise RuntimeError("HOMESAFE_SECRET_KEY (or HOMESAFE_SECRET_KEY_FILE) must be set")
    from homesafe.common.env import local_secret_key

    SECRET_KEY = local_secret_key(DATA_DIR)

ALLOWED_HOSTS = [h.strip() for h in env_str("HOMESAFE_ALLOWED_HOSTS", "").split(",") if h.strip()]
if not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in env_str("HOMESAFE_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "channels",
    "ninja",
    "homesafe.common",
    "homesafe.accounts",
    "homesafe.audit",
    "homesafe.reports",
    "homesafe.notify",
    "homesafe.walks",
    "homesafe.evidence",
    "homesafe.cases",
    "homesafe.stats",
    "homesafe.realtime",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "homesafe.accounts.middleware.StaffSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "homesafe.common.middleware.NoStoreMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "homesafe.common.context_processors.site",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Concurrent test runs on one server each get their own test database.
    if os.environ.get("HOMESAFE_TEST_DB_SUFFIX"):
        DATABASES["default"]["TEST"] = {
            "NAME": f"test_{DATABASES['default']['NAME']}_{os.environ['HOMESAFE_TEST_DB_SUFFIX']}"
        }
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            # HOMESAFE_SQLITE_PATH points a process at another file (tests start real worker
            # processes against their test database this way).
            "NAME": env_str("HOMESAFE_SQLITE_PATH", str(DATA_DIR / "homesafe.sqlite3")),
            "OPTIONS": {
                # IMMEDIATE: a write transaction takes the lock at BEGIN, so concurrent writers
                # wait for each other instead of failing half-way with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
                ),
            },
            "TEST": {"NAME": str(DATA_DIR / "test-homesafe.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, channels, rate limits ------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("HOMESAFE_CACHE_PREFIX", "homesafe"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Real-time pushes (homesafe/realtime): in-process without Redis; with Redis, PUBLISH on
# "<prefix><group>" and one pattern subscription per ASGI process. Channels groups are not used
# for fan-out (measured here 25 to 100 times slower than a raw websockets broadcast).
REALTIME_REDIS_PREFIX = env_str("HOMESAFE_REALTIME_PREFIX", "homesafe:rt:")

RATELIMIT_ENABLE = env_bool("HOMESAFE_RATELIMIT", True)
RATELIMIT_VIEW = "homesafe.common.views.rate_limited"
# Per client address: filing reports, and trying reference codes (80-bit codes cannot be
# guessed at this rate, but a limit keeps the lookup from being used as an oracle at all).
RATE_REPORT_SUBMIT = env_str("HOMESAFE_RATE_REPORT_SUBMIT", "20/h")
RATE_CODE_LOOKUP = env_str("HOMESAFE_RATE_CODE_LOOKUP", "30/10m")
# Evidence uploads started per address without an account (drop box, reporter).
RATE_EVIDENCE_START = env_str("HOMESAFE_RATE_EVIDENCE_START", "60/h")
# One process in the embedded default: a local-memory cache is shared by everything it serves.
SILENCED_SYSTEM_CHECKS = [] if REDIS_URL else ["django_ratelimit.E003", "django_ratelimit.W001"]

# --- accounts, passwords, sessions, MFA, brute force ---------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if env_bool("HOMESAFE_TEST_QUICK_HASHING", False) and not PRODUCTION:
    PASSWORD_HASHERS.insert(0, "homesafe.common.hashers.QuickArgon2PasswordHasher")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
SESSION_COOKIE_AGE = 14 * 24 * 3600
STAFF_SESSION_SECONDS = env_int("HOMESAFE_STAFF_SESSION_SECONDS", 12 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
OTP_TOTP_ISSUER = "homesafe"

AXES_FAILURE_LIMIT = env_int("HOMESAFE_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "email"
# Each item locks on its own: too many failures from one address, or against one account from
# anywhere. The account lock is what a rotating, spoofed X-Forwarded-For cannot get around.
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_HTTP_RESPONSE_CODE = 429
# The client address comes from REMOTE_ADDR unless the operator says how many proxies sit in
# front (HOMESAFE_TRUSTED_PROXY_COUNT); a client-supplied X-Forwarded-For is never believed.
TRUSTED_PROXY_COUNT = env_int("HOMESAFE_TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "homesafe.common.net.client_ip"
AXES_VERBOSE = False

# --- security headers ---------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # no-referrer makes browsers send Origin: null
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("HOMESAFE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

WALK_POLL_SECONDS = float(env_str("HOMESAFE_WALK_POLL_SECONDS", "1"))
# Casework task reminders: a reminder may go out up to this many seconds late.
CASES_POLL_SECONDS = float(env_str("HOMESAFE_CASES_POLL_SECONDS", "15"))
# The address people reach homesafe at; used in links sent by email (trusted contacts' links).
HOMESAFE_BASE_URL = env_str("HOMESAFE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
MAP_TILE_URL = env_str("HOMESAFE_MAP_TILES", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
QUICK_EXIT_URL = env_str("HOMESAFE_QUICK_EXIT_URL", "https://www.metservice.com/")


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url.replace("{s}", "a"))
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "'self'"


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", _origin(MAP_TILE_URL)],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- i18n and time ------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("mi", _("te reo Māori"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
HOMESAFE_DEFAULT_TIMEZONE = env_str("HOMESAFE_TIMEZONE", "Pacific/Auckland")

# --- static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    # WhiteNoise serves straight from the static folders here; it only needs the root to exist.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- encryption at rest ---------------------------------------------------------------------
# Keys never live in the database: HOMESAFE_ENCRYPTION_KEYS ("id:base64,id:base64", first is
# the active key) or a key file (HOMESAFE_KEY_FILE, default DATA_DIR/keys.json).
ENCRYPTION_KEYS = env_secret("HOMESAFE_ENCRYPTION_KEYS", default="")
ENCRYPTION_KEY_FILE = Path(env_str("HOMESAFE_KEY_FILE", str(DATA_DIR / "keys.json")))

# --- notifications and background loops ----------------------------------------------------
# Email: SMTP when HOMESAFE_SMTP_HOST is set. Without it, the embedded default writes each mail
# to DATA_DIR/outbox (owner-only) so a newcomer can read them; production falls back to
# Django's SMTP on localhost:25 and `check --deploy` warns, so alerts are never quietly filed.
SMTP_HOST = env_str("HOMESAFE_SMTP_HOST", "")
SMTP_TLS = env_str("HOMESAFE_SMTP_TLS", "starttls").strip().lower()
if SMTP_TLS in {"1", "true", "yes", "on"}:
    SMTP_TLS = "starttls"
elif SMTP_TLS in {"0", "false", "no", "off", "none", ""}:
    SMTP_TLS = "off"
if SMTP_TLS not in {"starttls", "ssl", "off"}:
    raise RuntimeError("HOMESAFE_SMTP_TLS must be starttls, ssl or off")
OUTBOX_DIR = DATA_DIR / "outbox"
if SMTP_HOST or PRODUCTION:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = SMTP_HOST or "localhost"
    EMAIL_PORT = env_int(
        "HOMESAFE_SMTP_PORT", {"starttls": 587, "ssl": 465, "off": 25}[SMTP_TLS]
    )
    EMAIL_HOST_USER = env_str("HOMESAFE_SMTP_USER", "")
    EMAIL_HOST_PASSWORD = env_secret("HOMESAFE_SMTP_PASSWORD", default="")
    EMAIL_USE_TLS = SMTP_TLS == "starttls"
    EMAIL_USE_SSL = SMTP_TLS == "ssl"
else:
    EMAIL_BACKEND = "homesafe.notify.transports.OutboxEmailBackend"
    EMAIL_FILE_PATH = str(OUTBOX_DIR)
# Without a timeout a hung mail server would hold a worker (and its lease) forever.
EMAIL_TIMEOUT = env_int("HOMESAFE_SMTP_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env_str("HOMESAFE_EMAIL_FROM", "homesafe <alerts@homesafe.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# SMS and web push go through a gateway class (dotted path, see homesafe/notify/transports.py).
# The default records to DATA_DIR/outbox, marked as not delivered; in production it refuses,
# so the notification is retried and then fails loudly instead of being reported as sent.
NOTIFY_SMS_GATEWAY = env_str("HOMESAFE_SMS_GATEWAY", "homesafe.notify.transports.OutboxSmsGateway")
NOTIFY_PUSH_GATEWAY = env_str(
    "HOMESAFE_PUSH_GATEWAY", "homesafe.notify.transports.OutboxPushGateway"
)
NOTIFY_POLL_SECONDS = float(env_str("HOMESAFE_NOTIFY_POLL_SECONDS", "1"))
NOTIFY_THREADS = env_int("HOMESAFE_NOTIFY_THREADS", 2)
# A claimed notification is someone else's to retry once its lease runs out (a worker died
# mid-send); longer than any send can take, EMAIL_TIMEOUT included.
NOTIFY_LEASE_SECONDS = float(env_str("HOMESAFE_NOTIFY_LEASE_SECONDS", "120"))
NOTIFY_MAX_ATTEMPTS = env_int("HOMESAFE_NOTIFY_MAX_ATTEMPTS", 8)
# Recipient, subject and body of delivered or failed notifications are erased after this.
NOTIFY_RETENTION_HOURS = env_int("HOMESAFE_NOTIFY_RETENTION_HOURS", 24)
# `homesafe serve` runs the background loops in its own process unless told otherwise;
# production runs them in `homesafe worker` processes instead.
EMBEDDED_LOOPS = env_bool("HOMESAFE_EMBEDDED_LOOPS", not PRODUCTION)

# --- logging: never narratives, names, contacts, places or codes ---------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"capabilities": {"()": "homesafe.common.logs.RedactCapabilityPaths"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["capabilities"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("HOMESAFE_LOG_LEVEL", "INFO")},
    "loggers": {
        # Request logs carry query strings and bodies on errors; keep them to warnings.
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
    },
}

HOMESAFE_VERSION = "0.1.0"
DEMO_EMAIL_DOMAIN = "demo.homesafe.nz"
REPORT_TEXT_MAX = 20000
REPORT_SHORT_TEXT_MAX = 500
