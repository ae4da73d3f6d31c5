"""The spec's test vector and its must-not-match variants, through signing and through the verifier."""

from __future__ import annotations

import email.message
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from refgen.callbacks import NonceCache, sign, signed_headers, signing_string, verify
from refgen.callbacks.signing import http_date, path_and_query

TOKEN = "test-token"
URL = "http://127.0.0.1:8080/vidu/callback?name=james&age=36"
DATE = "Tue, 06 May 2025 12:09:42 GMT"
NONCE = "123e4567-e89b-12d3-a456-426614174000"
SENT = datetime(2025, 5, 6, 12, 9, 42, tzinfo=UTC)
SIGNING_STRING = (
    "POST\n/vidu/callback\nname=james&age=36\nvidu\nTue, 06 May 2025 12:09:42 GMT\n"
    "Date:Tue, 06 May 2025 12:09:42 GMT\nx-request-nonce:123e4567-e89b-12d3-a456-426614174000\n"
)
SIGNATURE = "8FfF2yxrhWwLAyns1Oe0JB0Y490ZnoLDHBltnSs52mg="
SORTED_QUERY = "1PnGmza9q0lHMT5sl5iVdRvL5rushtGNTEEdFpfsKmI="
LOWER_CASE_DATE = "2z+Ns6eP73oojCZ/REteM0UKSnWgj7CZ4kE7nDKGcKc="
NO_TRAILING_NEWLINE = "GqPVzefpiQUckJfKit1qFoEaAVBFfbcabapVASvx8QE="


def vector_headers(signature: str = SIGNATURE) -> dict[str, str]:
    return {
        "Date": DATE,
        "x-request-nonce": NONCE,
        "X-HMAC-SIGNED-HEADERS": "Date;x-request-nonce",
        "X-HMAC-ALGORITHM": "hmac-sha256",
        "X-HMAC-ACCESS-KEY": "vidu",
        "X-HMAC-SIGNATURE": signature,
    }


# --- signing ------------------------------------------------------------------------------------


def test_signing_string_matches_the_spec_vector() -> None:
    assert signing_string("POST", URL, {"Date": DATE, "x-request-nonce": NONCE}) == SIGNING_STRING


def test_sign_matches_the_spec_vector() -> None:
    assert sign(TOKEN, SIGNING_STRING) == SIGNATURE


def test_signed_headers_reproduce_the_spec_vector() -> None:
    assert signed_headers("POST", URL, TOKEN, SENT, NONCE) == vector_headers()


def test_signing_variants_are_the_mistakes_the_spec_names() -> None:
    """Each must-not-match signature is what one mistake produces; the real algorithm avoids all three."""
    sorted_query = SIGNING_STRING.replace("name=james&age=36", "age=36&name=james")
    lower_date = SIGNING_STRING.replace("\nDate:", "\ndate:")
    assert sign(TOKEN, sorted_query) == SORTED_QUERY
    assert sign(TOKEN, lower_date) == LOWER_CASE_DATE
    assert sign(TOKEN, SIGNING_STRING.removesuffix("\n")) == NO_TRAILING_NEWLINE
    assert SIGNATURE not in (SORTED_QUERY, LOWER_CASE_DATE, NO_TRAILING_NEWLINE)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h/vidu/callback?name=james&age=36", ("/vidu/callback", "name=james&age=36")),
        ("http://h", ("/", "")),
        ("http://h/?", ("/", "")),
        ("https://h:8443/a%20b/c?z=1&a=%2F&a=2", ("/a%20b/c", "z=1&a=%2F&a=2")),
        ("http://h/p#fragment", ("/p", "")),
    ],
)
def test_path_and_query_keep_what_was_written(url: str, expected: tuple[str, str]) -> None:
    assert path_and_query(url) == expected


def test_http_date_is_rfc7231_gmt() -> None:
    assert http_date(SENT.astimezone(timezone(timedelta(hours=8)))) == DATE
    with pytest.raises(ValueError):
        http_date(datetime(2025, 5, 6))


# --- the verifier -------------------------------------------------------------------------------


def test_verify_accepts_the_spec_vector() -> None:
    assert verify("POST", URL, vector_headers(), TOKEN, now=SENT)


@pytest.mark.parametrize("signature", [SORTED_QUERY, LOWER_CASE_DATE, NO_TRAILING_NEWLINE])
def test_verify_refuses_the_must_not_match_signatures(signature: str) -> None:
    assert not verify("POST", URL, vector_headers(signature), TOKEN, now=SENT)


def test_verify_refuses_a_sorted_query_url() -> None:
    """The receiver must sign the URL it registered, not a normalised one."""
    assert not verify(
        "POST", URL.replace("name=james&age=36", "age=36&name=james"), vector_headers(), TOKEN, now=SENT
    )


def test_verify_refuses_lower_case_signed_header_names() -> None:
    headers = vector_headers()
    headers["X-HMAC-SIGNED-HEADERS"] = "date;x-request-nonce"
    assert not verify("POST", URL, headers, TOKEN, now=SENT)
    headers["X-HMAC-SIGNATURE"] = LOWER_CASE_DATE  # consistent, so it verifies: names are as listed
    assert verify("POST", URL, headers, TOKEN, now=SENT)


def test_verify_reads_header_names_case_insensitively() -> None:
    headers = {name.lower(): value for name, value in vector_headers().items()}
    assert verify("POST", URL, headers, TOKEN, now=SENT)
    assert verify("POST", URL, list(headers.items()), TOKEN, now=SENT)


def test_verify_reads_http_server_headers() -> None:
    message = email.message.Message()
    for name, value in vector_headers().items():
        message[name] = value
    assert verify("POST", URL, message, TOKEN, now=SENT)


@pytest.mark.parametrize(
    "change",
    [
        {"X-HMAC-SIGNATURE": "AAAA"},
        {"X-HMAC-ALGORITHM": "hmac-sha1"},
        {"X-HMAC-ACCESS-KEY": "someone"},
        {"X-HMAC-SIGNED-HEADERS": "Date"},
        {"x-request-nonce": "another-nonce"},
        {"Date": "Tue, 06 May 2025 12:09:43 GMT"},
    ],
)
def test_verify_refuses_tampered_headers(change: dict[str, str]) -> None:
    assert not verify("POST", URL, {**vector_headers(), **change}, TOKEN, now=SENT)


@pytest.mark.parametrize("missing", ["Date", "x-request-nonce", "X-HMAC-SIGNATURE", "X-HMAC-SIGNED-HEADERS"])
def test_verify_refuses_missing_headers(missing: str) -> None:
    headers = vector_headers()
    del headers[missing]
    assert not verify("POST", URL, headers, TOKEN, now=SENT)


def test_verify_refuses_a_repeated_signed_header() -> None:
    pairs = [*vector_headers().items(), ("Date", "Wed, 07 May 2025 12:09:42 GMT")]
    assert not verify("POST", URL, pairs, TOKEN, now=SENT)


def test_verify_refuses_other_token_path_and_method() -> None:
    assert not verify("POST", URL, vector_headers(), "other-token", now=SENT)
    assert not verify("POST", URL.replace("/vidu/", "/vidu2/"), vector_headers(), TOKEN, now=SENT)
    assert not verify("PUT", URL, vector_headers(), TOKEN, now=SENT)


def test_verify_freshness_window() -> None:
    assert verify("POST", URL, vector_headers(), TOKEN, now=SENT + timedelta(seconds=300))
    assert verify("POST", URL, vector_headers(), TOKEN, now=SENT - timedelta(seconds=300))
    assert not verify("POST", URL, vector_headers(), TOKEN, now=SENT + timedelta(seconds=301))
    assert not verify("POST", URL, vector_headers(), TOKEN, now=SENT - timedelta(seconds=301))
    assert verify("POST", URL, vector_headers(), TOKEN, now=SENT + timedelta(hours=1), max_age=3601)


def test_verify_refuses_a_stale_date_by_default() -> None:
    assert not verify("POST", URL, vector_headers(), TOKEN)  # the vector is from 2025-05-06


def test_verify_with_nonce_cache_refuses_replays() -> None:
    nonces = NonceCache()
    assert verify("POST", URL, vector_headers(), TOKEN, now=SENT, nonces=nonces)
    assert not verify("POST", URL, vector_headers(), TOKEN, now=SENT, nonces=nonces)
    assert verify("POST", URL, vector_headers(), TOKEN, now=SENT)  # without the cache: no replay check


def test_verify_does_not_remember_nonces_of_forged_requests() -> None:
    nonces = NonceCache()
    assert not verify("POST", URL, vector_headers("forged"), TOKEN, now=SENT, nonces=nonces)
    assert len(nonces) == 0
    assert verify("POST", URL, vector_headers(), TOKEN, now=SENT, nonces=nonces)


def test_fresh_signed_headers_verify_and_differ_per_nonce() -> None:
    now = datetime.now(UTC)
    url = "https://hooks.example/cb?b=2&a=1"
    first = signed_headers("POST", url, "rg_token", now, "n1")
    second = signed_headers("POST", url, "rg_token", now, "n2")
    assert first["X-HMAC-SIGNATURE"] != second["X-HMAC-SIGNATURE"]
    nonces = NonceCache()
    assert verify("POST", url, first, "rg_token", nonces=nonces)
    assert verify("POST", url, second, "rg_token", nonces=nonces)


# --- the nonce cache ----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_nonce_cache_forgets_after_ttl() -> None:
    clock = Clock()
    cache = NonceCache(ttl=10, clock=clock)
    assert cache.add("a")
    clock.now += 9.9
    assert not cache.add("a")
    clock.now += 0.2
    assert cache.add("a")


def test_nonce_cache_bounds_its_size() -> None:
    cache = NonceCache(ttl=60, max_entries=3, clock=Clock())
    for nonce in "abcd":
        assert cache.add(nonce)
    assert len(cache) == 3
    assert cache.add("a")  # the oldest was forgotten first
    assert not cache.add("d")


def test_nonce_cache_is_thread_safe() -> None:
    cache = NonceCache()
    accepted: list[bool] = []
    lock = threading.Lock()

    def add_all() -> None:
        results = [cache.add(f"n{i}") for i in range(500)]
        with lock:
            accepted.extend(results)

    threads = [threading.Thread(target=add_all) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(accepted) == 500


def test_verify_reads_starlette_headers_with_repeats() -> None:
    from starlette.datastructures import Headers

    raw = [(name.lower().encode(), value.encode()) for name, value in vector_headers().items()]
    assert verify("POST", URL, Headers(raw=raw), TOKEN, now=SENT)
    repeated = [*raw, (b"date", b"Wed, 07 May 2025 12:09:42 GMT")]
    assert not verify("POST", URL, Headers(raw=repeated), TOKEN, now=SENT)
