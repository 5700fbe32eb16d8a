"""The grader's private channel: signed event lines from the test process to the grader.

The grader hands the test process a random key through a pipe that is read once and
closed, and another pipe to write events to.
Each event is one line, `<hmac> <json>`. Student code runs in other processes that
never see the key, so anything they print, write or push into the pipe is ignored:
a line without a valid signature is not an event.
"""
import hashlib
import hmac
import json
import secrets

KEY_BYTES = 32


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def sign(key: bytes, event: dict) -> bytes:
    body = json.dumps(event, separators=(",", ":")).encode()
    tag = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    return tag + b" " + body + b"\n"


def verify(key: bytes, line: bytes):
    """The event of a line, or None when the line is not signed with this key."""
    tag, _, body = line.strip().partition(b" ")
    expected = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(tag, expected):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
