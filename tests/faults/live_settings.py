"""Settings for the servers the fault tests start and break: rate limits lifted (the tests
post streams from one address), short waits for an unreachable database so a request gives
up in about a second instead of the production 10-20 s, and a quick live-path check."""

from tests.engage.live_settings import *  # noqa: F403

ENGAGE_LIVE_CHECK_SECONDS = 1
_options = DATABASES["default"]["OPTIONS"]  # noqa: F405
if "pool" in _options:  # PostGIS: wait at most this long for a pooled connection
    _options["pool"] = {**_options["pool"], "timeout": 2}
    _options["connect_timeout"] = 2
else:  # SpatiaLite: wait at most this long for another process's lock
    _options["timeout"] = 1
