"""User data decoding: base64 as the API takes it, 16 KB at most, gzip inflated; only `#!` runs.
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html"""

from __future__ import annotations

import base64
import gzip

import pytest

from chaoslab.errors import AwsError
from chaoslab.services.ec2.userdata import MAX_BYTES, decode_user_data, encode_user_data, is_script

SCRIPT = "#!/bin/bash\nyum install -y python3\npython3 app.py &\n"


def test_base64_decodes_to_the_script_line_breaks_in_the_encoding_allowed() -> None:
    encoded = base64.encodebytes(SCRIPT.encode()).decode()  # wrapped at 76 columns, as some tools send it
    assert decode_user_data(encoded) == SCRIPT
    assert decode_user_data(encode_user_data(SCRIPT)) == SCRIPT


def test_gzip_compressed_user_data_is_inflated() -> None:
    assert decode_user_data(base64.b64encode(gzip.compress(SCRIPT.encode())).decode()) == SCRIPT


@pytest.mark.parametrize(
    "encoded",
    [
        "#!/bin/bash",  # plain text: the API wants base64
        base64.b64encode(b"x" * (MAX_BYTES + 1)).decode(),
        base64.b64encode(b"\x1f\x8bnot gzip").decode(),
    ],
)
def test_invalid_user_data_is_invalid_parameter_value(encoded: str) -> None:
    with pytest.raises(AwsError) as err:
        decode_user_data(encoded)
    assert err.value.code == "InvalidParameterValue"


def test_only_shebang_scripts_run() -> None:
    assert is_script(SCRIPT)
    assert not is_script("#cloud-config\npackages: [python3]\n")
