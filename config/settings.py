"""The one settings module. Everything that differs between a laptop and production comes from
the environment (see README "Configuration" and .env.example); the defaults are the embedded
ones: a SpatiaLite file next to the code and an in-memory channel layer."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from config.env import (
    ConfigError,
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_rates,
    env_str,
    redis_from_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError("SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for development)")
    SECRET_KEY = "django-insecure-development-only-key-not-for-production"  # noqa: S105

SITE_URL = env_str("SITE_URL").rstrip("/")
if SITE_URL:
    _site = urlsplit(SITE_URL)
    if _site.scheme not in {"http", "https"} or not _site.hostname:
        raise ConfigError(
            f"SITE_URL must be an origin like https://plans.example.org, not {SITE_URL!r}"
        )
HTTPS = SITE_URL.startswith("https://")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
if SITE_URL and urlsplit(SITE_URL).hostname not in ALLOWED_HOSTS and "*" not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(urlsplit(SITE_URL).hostname)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL] if SITE_URL else [])

# WebSocket origins are checked against an explicit list, never "*": Channels'
# AllowedHostsOriginValidator lets everything through when ALLOWED_HOSTS is ["*"].
WEBSOCKET_ALLOWED_ORIGINS = sorted(
    {*CSRF_TRUSTED_ORIGINS, *([SITE_URL] if SITE_URL else [])}
    | {host.strip("[]") for host in ALLOWED_HOSTS if host != "*"}
)

INSTALLED_APPS = [
    "config.apps.ConfigAppConfig",
    "landuse",
    "engage",
    "cms",
    "frontend",
    "geo_fixtures",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "leaflet",
    "ninja",
    "channels",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # 503 with a clear body when the database is unreachable (README "Faults").
    "config.unavailable.DatabaseUnavailableMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    "config.security.RefuseNullBytesMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.security.LoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL"),
        name="DATABASE_URL",
        default_path=BASE_DIR / "db.sqlite3",
        pool=env_bool("DATABASE_POOL", True),
    )
}
DATABASE_IS_POSTGIS = DATABASES["default"]["ENGINE"].endswith("postgis")
if not DATABASE_IS_POSTGIS:
    # Seconds a request waits for SQLite's write lock before it fails (a 503, config.unavailable).
    DATABASES["default"]["OPTIONS"]["timeout"] = env_int("SPATIALITE_LOCK_TIMEOUT", 20)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer and cache ----------------------------------------------------------------
REDIS = redis_from_url(env_str("REDIS_URL"), name="REDIS_URL")
if REDIS:
    # The pub/sub layer: about half the CPU per delivered message of RedisChannelLayer and it
    # never drops a whole event for a slow worker (see shared PERF notes and docs/realtime.md).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS.url], "prefix": REDIS.channel_prefix},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedRedisCache",
            "LOCATION": REDIS.url,
            "KEY_PREFIX": "civicmap",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "wagtailadmin_login"

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English")]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Static and media files ---------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")
SERVE_MEDIA = env_bool("SERVE_MEDIA", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "servestatic.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Development serves straight from the app folders, so no collectstatic is needed with DEBUG on.
SERVESTATIC_USE_FINDERS = DEBUG
SERVESTATIC_AUTOREFRESH = DEBUG

# --- Wagtail ------------------------------------------------------------------------------
WAGTAIL_SITE_NAME = env_str("SITE_NAME", "Plan Together")
WAGTAILADMIN_BASE_URL = SITE_URL or "http://127.0.0.1:8000"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "odt", "pdf", "txt", "xlsx", "zip"]
# No Gravatar: the admin would fetch every editor's avatar from gravatar.com (an outside request
# carrying a hash of their e-mail address). Wagtail shows its default avatar instead.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# --- Maps ---------------------------------------------------------------------------------
# No tile server is reached from here: the base map is optional and off unless configured.
LEAFLET_CONFIG = {
    "TILES": [],
    "DEFAULT_CENTER": (39.74, -104.99),
    "DEFAULT_ZOOM": 12,
    "RESET_VIEW": False,
}
BASEMAP_TILE_URL = env_str("BASEMAP_TILE_URL")
if BASEMAP_TILE_URL:
    _tiles = urlsplit(BASEMAP_TILE_URL.replace("{", "").replace("}", ""))
    if _tiles.scheme not in {"http", "https"} or not _tiles.hostname:
        raise ConfigError(
            f"BASEMAP_TILE_URL must be an http(s) URL template, not {BASEMAP_TILE_URL!r}"
        )
    BASEMAP_ORIGIN = f"{_tiles.scheme}://{_tiles.netloc}"
else:
    BASEMAP_ORIGIN = ""
# Tile bodies kept in each worker's memory by the lean tile route (landuse.fastpath); 0: none.
LANDUSE_TILE_CACHE_BYTES = env_int("LANDUSE_TILE_CACHE_BYTES", 64 * 1024 * 1024)

# --- Security -----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # Our JavaScript reads the CSRF token for API posts.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Paths whose pages still need inline script/style (Wagtail admin, API docs); staff only.
CSP_RELAXED_PATH_PREFIXES = ["/admin/", "/api/docs", "/django-admin/"]
if HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)
    if env_bool("TRUST_X_FORWARDED_PROTO", True):
        # Production sits behind a proxy that terminates TLS (README "Production").
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # The status probe comes from inside the host, over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Logging ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Abuse and privacy (README "Security and privacy") ------------------------------------
# Keyed IP hashes on comments and flags are cleared after this many days (purge_ip_hashes).
IP_HASH_RETENTION_DAYS = env_int("IP_HASH_RETENTION_DAYS", 90)
# Sign-in lockout: after this many failed sign-ins from one address or for one username,
# further attempts get 429 with Retry-After for LOGIN_LOCKOUT_SECONDS.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900)
LOGIN_THROTTLED_PATHS = ["/admin/login/"]
# Optional challenge (captcha) for anonymous comments: the dotted path of a callable
# ``check(request, token: str) -> bool``; the client sends the token as ``captcha``. Off unless set.
ENGAGE_ANONYMOUS_CHALLENGE = env_str("ENGAGE_ANONYMOUS_CHALLENGE")
# Rate limits (429 with Retry-After), "action=requests/seconds,…"; unnamed actions keep the
# defaults in engage.services.DEFAULT_RATE_LIMITS (README "Settings for abuse and privacy").
ENGAGE_RATE_LIMITS = env_rates(
    "ENGAGE_RATE_LIMITS",
    allowed={"comment", "discussion_comment", "reaction", "flag", "privacy", "export"},
)
# Seconds between checks that the channel layer (Redis) still delivers; pages are told
# (close code 4503) when it does not. 0 turns the check off.
ENGAGE_LIVE_CHECK_SECONDS = env_int("ENGAGE_LIVE_CHECK_SECONDS", 2)
# import_layer refuses archives that would inflate beyond this many bytes.
LAYER_IMPORT_MAX_UNCOMPRESSED_BYTES = env_int("LAYER_IMPORT_MAX_UNCOMPRESSED_BYTES", 2 * 1024**3)

# Debian 12's GDAL is 3.6; the switch that stops GDAL reading files or URLs named inside a
# spatial reference needs 3.9. Accepted because no user-supplied SRS text or SRID reaches GDAL:
# residents' geometry is parsed as GeoJSON in WGS84 only and layer files are imported by staff
# from the command line (README "Accepted warnings"; tests in tests/engage and tests/landuse).
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
