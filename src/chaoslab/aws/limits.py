"""Every bound the AWS endpoint puts on a connection and a request, in one place.

The API shares one event loop with the ALB data plane and its health checks, so no request may
cost unbounded time or memory; docs/reliability.md ("Limits and timeouts") says why each number
is what it is and what a client gets when it crosses one.
"""

from __future__ import annotations

KIB = 1024
MIB = 1024 * KIB

# -- connections (aiohttp server) ---------------------------------------------------------------
MAX_CONNECTIONS = 256  # open API connections; one more is answered 503 SlowDown and closed
HEAD_DEADLINE = 15.0  # s from connect (or the last response) to a complete request head; also keep-alive idle
BODY_DEADLINE = 30.0  # s to receive the whole body once the head is in
LINGER = 2.0  # s spent draining a body the gateway refused without reading
MAX_LINE = 128 * KIB  # request line: a rest-json path or query past this cannot be answered in its protocol
MAX_FIELD = 16 * KIB  # one header line
MAX_HEADERS = 100

# -- bodies -------------------------------------------------------------------------------------
MAX_BODY = 2 * MIB  # as sent: PutLogEvents' 1 MiB of events plus JSON escaping fits
MAX_INFLATED = 4 * MIB  # a gzip body once decompressed (checked while decompressing)
HEAVY_BODY = 64 * KIB  # bodies above this are hashed, inflated and parsed on a worker thread

# -- input structure ------------------------------------------------------------------------------
MAX_QUERY_KEYS = 20_000  # form/query parameters in one query-protocol request
MAX_KEY_LENGTH = 512  # characters in one form key (`MetricData.member.1000.Dimensions.member.30.Value` is 50)
MAX_KEY_PARTS = 32  # dot-separated parts of one form key (the deepest implemented input needs 12)
MAX_JSON_DEPTH = 64  # nesting of JSON bodies and of JSON documents inside string members
MAX_ITEMS = 1000  # entries of a list or map whose model sets no maximum
MAX_ERRORS = 10  # validation errors listed in one message

# -- work after the handler -------------------------------------------------------------------------
HEAVY_OUTPUT = 500  # output values beyond which the response is serialised on a worker thread
WORKERS = 2  # worker threads for heavy parsing and serialising (the box may have 2 cores)
GIL_SWITCH = 0.001  # s a thread may hold the GIL while another waits (Python's default, 5 ms, made every
# ALB request wait 4-8 times that while a worker parsed: each return from epoll needs the GIL back)
