"""Reading and inflating request bodies with a size cap and a deadline, so a client can make the
lab hold at most `MAX_BODY` bytes and `MAX_INFLATED` decompressed bytes, for at most
`BODY_DEADLINE` seconds (docs/reliability.md)."""

from __future__ import annotations

import asyncio
import zlib

from aiohttp import web

from chaoslab.aws import limits
from chaoslab.errors import AwsError

_CHUNK = 64 * 1024


def too_large(what: str, limit: int) -> AwsError:
    return AwsError("RequestEntityTooLarge", f"The {what} exceeds the maximum allowed size of {limit} bytes.", 413)


async def read_body(request: web.BaseRequest) -> bytes:
    """The whole body, or 413 before reading one byte past MAX_BODY, or 408 after BODY_DEADLINE."""
    limit, deadline = limits.MAX_BODY, limits.BODY_DEADLINE
    declared = request.content_length
    if declared is not None and declared > limit:
        raise too_large("request body", limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(deadline):
            while chunk := await request.content.readany():
                size += len(chunk)
                if size > limit:
                    raise too_large("request body", limit)
                chunks.append(chunk)
    except TimeoutError:
        raise AwsError(
            "RequestTimeout", f"The request body was not received within {deadline:.0f} seconds.", 408
        ) from None
    return b"".join(chunks)


def is_gzip(encoding: str) -> bool:
    return "gzip" in encoding.lower()


def inflate(data: bytes) -> bytes:
    """gzip (one or more members) -> bytes, stopping as soon as the output would pass `limit`:
    a 1 MiB body of zeros that inflates to 1 GiB costs `limit` bytes of work, not 1 GiB.
    Raises ValueError for a body that is not gzip, AwsError 413 past the limit."""
    limit = limits.MAX_INFLATED
    out: list[bytes] = []
    size = 0
    rest = data
    while rest:
        stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = rest
        while pending:
            try:
                chunk = stream.decompress(pending, limit - size + 1)
            except zlib.error as exc:
                raise ValueError(f"the request body is not valid gzip ({exc})") from None
            size += len(chunk)
            if size > limit:
                raise too_large("decompressed request body", limit)
            out.append(chunk)
            pending = stream.unconsumed_tail
        if not stream.eof:
            raise ValueError("the request body is not valid gzip (truncated)")
        rest = stream.unused_data
    return b"".join(out)
