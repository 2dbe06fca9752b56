"""Media URLs we hand to Meta must be public https: the SSRF guard, table-tested."""

import pytest

from botopia_meta.safe_urls import unsafe_url_reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://cdn.example.com/a.jpg", None),
        ("https://cdn.example.com:8443/a.jpg?sig=1", None),
        ("https://93.184.216.34/a.jpg", None),
        ("http://cdn.example.com/a.jpg", "https://"),
        ("ftp://cdn.example.com/a.jpg", "https://"),
        ("file:///etc/passwd", "https://"),
        ("javascript:alert(1)", "https://"),
        ("https://", "no host"),
        ("https://user:pw@cdn.example.com/a.jpg", "credentials"),
        ("https://unknown.invalid/a.jpg", "does not resolve"),
        ("https://127.0.0.1/a.jpg", "public address"),
        ("https://10.0.0.8/a.jpg", "public address"),
        ("https://172.16.5.4/a.jpg", "public address"),
        ("https://192.168.1.1/a.jpg", "public address"),
        ("https://169.254.169.254/latest/meta-data", "public address"),
        ("https://100.64.0.1/a.jpg", "public address"),
        ("https://0.0.0.0/a.jpg", "public address"),
        ("https://[::1]/a.jpg", "public address"),
        ("https://[fe80::1]/a.jpg", "public address"),
        ("https://[fc00::1]/a.jpg", "public address"),
        ("https://[::ffff:127.0.0.1]/a.jpg", "public address"),
        ("https://240.0.0.1/a.jpg", "public address"),
        ("https://[2002:7f00:1::]/a.jpg", "public address"),  # 6to4 wrapping 127.0.0.1
        ("https://[2606:4700::6810:84e5]/a.jpg", None),
        ("https://224.0.0.1/a.jpg", "public address"),
        ("https://cdn.example.com:99999/a.jpg", "valid URL"),
        ("https://" + "a" * 2100 + ".com/", "2048"),
    ],
)
def test_it_allows_only_public_https_urls(url, reason):
    found = unsafe_url_reason(url)
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found


def test_it_refuses_a_name_that_resolves_to_a_private_address(monkeypatch):
    import socket

    from botopia_meta import safe_urls

    monkeypatch.setattr(
        safe_urls,
        "_resolve",
        lambda host, port, **kw: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ],
    )
    assert "public address" in unsafe_url_reason("https://rebind.example.com/a.jpg")
