"""The workload client's request head: what goes on the wire for a URL and a spec's headers."""

import pytest

from chaoslab.experiment.httpclient import HttpError, _request_head, _split, header_lines


def test_default_ports_are_left_out_of_host_and_others_kept():
    assert _request_head("GET", "/p", ("http", "shop", 80)) == b"GET /p HTTP/1.1\r\nHost: shop\r\n"
    assert _request_head("GET", "/p", ("https", "shop", 443)) == b"GET /p HTTP/1.1\r\nHost: shop\r\n"
    assert _request_head("POST", "/", ("http", "::1", 8080)) == b"POST / HTTP/1.1\r\nHost: [::1]:8080\r\n"


def test_a_target_the_request_line_cannot_carry_is_percent_encoded():
    assert _split("http://127.0.0.1:8080/produits/é?q=a b&x=%20") == (
        ("http", "127.0.0.1", 8080),
        "/produits/%C3%A9?q=a%20b&x=%20",
    )
    assert _split("https://example.com") == (("https", "example.com", 443), "/")


def test_only_http_and_https_urls_are_sent():
    with pytest.raises(HttpError) as err:
        _split("ftp://example.com/x")
    assert err.value.kind == "other"


def test_a_spec_header_overrides_the_defaults():
    lines = header_lines({"user-agent": "mine", "X-Client": 7}, json_body=True)
    assert lines == b"Accept: */*\r\nContent-Type: application/json\r\nuser-agent: mine\r\nX-Client: 7\r\n"
