"""Settings for the servers the fault tests start and break: rate limits lifted (the tests
post streams from one address), a short wait for a connection from the PostgreSQL pool so a
request gives up in about 2 s instead of 10 s, and a quick live-path check.

SpatiaLite needs nothing here: loading the libspatialite extension sets SQLite's busy timeout
to 5 s on every connection, whatever ``OPTIONS["timeout"]`` says (seen with
``PRAGMA busy_timeout``), so a locked file fails a request after 5 s."""

from tests.engage.live_settings import *  # noqa: F403

ENGAGE_LIVE_CHECK_SECONDS = 1
_options = DATABASES["default"]["OPTIONS"]  # noqa: F405
if "pool" in _options:  # PostGIS
    _options["pool"] = {**_options["pool"], "timeout": 2}
    _options["connect_timeout"] = 2
