"""User data as EC2 takes it: base64 on the wire, at most 16 KB once decoded, optionally
gzip-compressed (cloud-init inflates it). The lab runs it at boot only when it is a `#!` script."""

from __future__ import annotations

import base64
import binascii
import gzip

from chaoslab.errors import AwsError

MAX_BYTES = 16 * 1024  # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html
_GZIP_MAGIC = b"\x1f\x8b"


def decode_user_data(encoded: str) -> str:
    """The script text of base64 `encoded` user data; InvalidParameterValue as EC2 answers."""
    try:
        raw = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise AwsError("InvalidParameterValue", "Invalid BASE64 encoding of user data.") from None
    if len(raw) > MAX_BYTES:
        raise AwsError("InvalidParameterValue", f"User data is limited to {MAX_BYTES} bytes.")
    if raw.startswith(_GZIP_MAGIC):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            raise AwsError("InvalidParameterValue", "User data is gzip-compressed but does not inflate.") from None
    return raw.decode("utf-8", errors="replace")


def encode_user_data(text: str) -> str:
    """What a client sends for `text` (stack files carry the script as plain text)."""
    return base64.b64encode(text.encode()).decode()


def is_script(text: str) -> bool:
    """Whether the lab runs it: cloud-init runs `#!` scripts; other formats (#cloud-config, MIME
    multi-part) need cloud-init's modules, which the lab does not have."""
    return text.startswith("#!")
