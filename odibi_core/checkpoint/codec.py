"""The checkpoint file format: a checkpoint's JSON wrapped in a versioned, checksummed envelope.

One file per checkpoint::

    {"format": "odibi-checkpoint",
     "format_version": 1,
     "checksum": "sha256:<hex of the canonical JSON of body>",
     "body": {... Checkpoint.to_dict() ...}}

Canonical JSON (sorted keys, no spaces, ASCII escapes) gives one spelling per value, so the
checksum does not depend on indentation. Reading checks, in order: the bytes are JSON, the
envelope has the expected format and version, the checksum matches, the body is a valid
checkpoint. Any failure is a :class:`CheckpointCorruptError` naming the location and the problem:
a torn or edited file is refused, never half-read.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..cache.keys import Uncacheable, canonical, canonical_json
from ..errors import ConfigError
from .model import Checkpoint, CheckpointCorruptError

__all__ = ["FORMAT", "FORMAT_VERSION", "decode", "encode"]

FORMAT = "odibi-checkpoint"
#: bumped when the envelope or body changes shape; other versions are refused, not guessed at
FORMAT_VERSION = 1


def _checksum(body: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(body, "body").encode("ascii")).hexdigest()


def encode(checkpoint: Checkpoint) -> bytes:
    """The file bytes for ``checkpoint``. Metadata that is not plain JSON data (a set, a
    DataFrame, NaN...) raises :class:`ConfigError` naming the checkpoint and the field."""
    try:
        body = canonical(checkpoint.to_dict(), "body")
    except Uncacheable as exc:
        raise ConfigError(checkpoint.checkpoint_id, f"cannot save checkpoint: {exc.part}: "
                          f"{exc.reason}; a checkpoint holds plain JSON data only") from exc
    envelope = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "checksum": _checksum(body), "body": body}
    return json.dumps(envelope, indent=2, ensure_ascii=False).encode("utf-8")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode(data: bytes, location: str) -> Checkpoint:
    """The checkpoint in ``data`` (bytes read from ``location``); CheckpointCorruptError if the
    bytes are torn, not this format, another version, fail the checksum or hold a bad field."""
    try:
        envelope = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise CheckpointCorruptError(location, f"not valid JSON, the file may be torn "
                                     f"({len(data)} bytes; {exc})") from exc
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        got = envelope.get("format") if isinstance(envelope, dict) else type(envelope).__qualname__
        raise CheckpointCorruptError(location, f"format {got!r}, expected {FORMAT!r}")
    version = envelope.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise CheckpointCorruptError(location, f"format_version {version!r}, this odibi_core "
                                     f"reads version {FORMAT_VERSION}")
    if "body" not in envelope:
        raise CheckpointCorruptError(location, "no body")
    try:
        expected, found = _checksum(envelope["body"]), envelope.get("checksum")
    except Uncacheable as exc:  # e.g. 1e400, which JSON parses as infinity
        raise CheckpointCorruptError(location, f"{exc.part}: {exc.reason}") from exc
    if found != expected:
        raise CheckpointCorruptError(location, f"checksum mismatch: file says {found!r}, "
                                     f"body hashes to {expected!r}")
    return Checkpoint.from_dict(envelope["body"], source=location)
