"""The log's shape: our lines (structlog's, written straight to the handler) and the
libraries' (the standard library's, through the handler's formatter) come out of one
stream as one JSON object per line, redacted alike, filtered by the one level, and never
torn into each other."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.domain.pairing import PAIRING_ALPHABET
from nodedc_gateway.entrypoints.logs import (
    _PATTERNS,
    REDACTED,
    SHORTEST_SECRET,
    Redactor,
    configure_logging,
    get_logger,
)
from tests.support.logs import logging_restored

SECRET = "configured-secret-0123456789"
TOKEN = "ndca_" + "A1b2C3d4E5" * 4
#: Made at import time, as the gateway's modules make theirs: it must follow later
#: configurations all the same.
early = get_logger("nodedc_gateway.early")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    with logging_restored():
        yield


def configured(level: str = "info") -> io.StringIO:
    stream = io.StringIO()
    configure_logging(Redactor([SECRET]), level=level, stream=stream)
    return stream


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.usefixtures("restore_logging")
def test_ours_and_a_librarys_lines_share_the_stream_the_shape_and_the_redaction() -> None:
    stream = configured()
    with structlog.contextvars.bound_contextvars(request_id="req-1"):
        get_logger("nodedc_gateway.access").info(
            "request", note=f"{SECRET} Bearer {TOKEN}", token="x"
        )
        logging.getLogger("uvicorn.error").info("lib %s %s", SECRET, TOKEN)
    ours, theirs = lines(stream)
    assert ours == {
        "event": "request",
        "note": "[redacted] [redacted]",
        "token": "[redacted]",
        "request_id": "req-1",
        "level": "info",
        "logger": "nodedc_gateway.access",
        "timestamp": ours["timestamp"],
    }
    assert theirs["event"] == "lib [redacted] [redacted]"
    assert (theirs["level"], theirs["logger"], theirs["request_id"]) == (
        "info",
        "uvicorn.error",
        "req-1",
    )
    assert ours["timestamp"].endswith("Z")
    assert theirs["timestamp"].endswith("Z")


@pytest.mark.usefixtures("restore_logging")
def test_one_level_filters_ours_and_the_librarys() -> None:
    quiet = configured("info")
    early.debug("ours, hidden")
    logging.getLogger("httpx").debug("theirs, hidden")
    early.warning("ours, shown")
    assert [line["event"] for line in lines(quiet)] == ["ours, shown"]

    loud = configured("debug")
    early.debug("ours")
    logging.getLogger("httpx").debug("theirs")
    assert [line["event"] for line in lines(loud)] == ["ours", "theirs"]
    assert "ours" not in quiet.getvalue().split("ours, shown")[1]  # the old stream is left


@pytest.mark.usefixtures("restore_logging")
def test_an_exception_is_rendered_and_redacted() -> None:
    stream = configured()
    try:
        raise RuntimeError(f"failed with {SECRET}")
    except RuntimeError:
        early.exception("boom")
    (line,) = lines(stream)
    assert (line["event"], line["level"]) == ("boom", "error")
    assert "RuntimeError: failed with [redacted]" in line["exception"]
    assert SECRET not in stream.getvalue()


class HalvingStream(io.StringIO):
    """Writes each chunk in two halves and lets other threads run in between: a line not
    written under the handler's lock would be torn by another thread's."""

    def write(self, text: str) -> int:
        half = len(text) // 2
        super().write(text[:half])
        time.sleep(0)  # give up the GIL: not waiting for anything
        return super().write(text[half:]) + half


@pytest.mark.usefixtures("restore_logging")
def test_lines_written_at_once_from_many_threads_are_never_torn() -> None:
    stream = HalvingStream()
    configure_logging(Redactor([SECRET]), stream=stream)
    per_thread = 200

    def ours(n: int) -> None:
        for i in range(per_thread):
            early.info("ours", n=n, i=i, padding="x" * 500)

    def theirs(n: int) -> None:
        for i in range(per_thread):
            logging.getLogger("mcp").info("theirs %d %d %s", n, i, "y" * 500)

    threads = [threading.Thread(target=f, args=(n,)) for n in range(4) for f in (ours, theirs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    written = lines(stream)  # each line parses: none was torn by another
    assert len(written) == 8 * per_thread
    assert sum(line["event"] == "ours" for line in written) == 4 * per_thread


@pytest.mark.usefixtures("restore_logging")
def test_a_line_that_cannot_be_written_never_fails_the_caller(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream = io.StringIO()
    configure_logging(Redactor([SECRET]), stream=stream)
    stream.close()
    early.info("lost", note=SECRET)  # does not raise
    logging.getLogger("httpx").info("lost too")
    reported = capsys.readouterr().err
    assert "a log line was not written" in reported
    assert SECRET not in reported


# Strings made of what the patterns look for: pairing letters, token prefixes, "bearer".
_PIECES = st.sampled_from(
    [
        *PAIRING_ALPHABET,
        *PAIRING_ALPHABET.lower(),
        *("-", " ", "\t", "_", "a", "0", "Z"),
        *("ndca_", "ndcr_", "ndcc_", "bearer ", "Bearer\t", "BEARER "),
    ]
)


@given(st.lists(_PIECES, max_size=8).map("".join))
def test_no_pattern_matches_fewer_characters_than_the_shortest_secret(text: str) -> None:
    """The redactor returns strings shorter than SHORTEST_SECRET untouched, unsearched; so
    none of its patterns may match one (a secret shorter than that is never configured)."""
    short = text[: SHORTEST_SECRET - 1]
    assert all(pattern.search(short) is None for pattern in _PATTERNS)
    assert Redactor(["x" * SHORTEST_SECRET]).text(short) == short


def test_the_shortest_things_the_redactor_hides_are_hidden() -> None:
    """At SHORTEST_SECRET characters each kind is still redacted: the bound is exact."""
    redactor = Redactor(["s3cr3t-8"])
    for secret in ("bearer x", "BCDFGHJK", "s3cr3t-8"):
        assert len(secret) >= SHORTEST_SECRET
        assert redactor.text(secret) == REDACTED, secret
