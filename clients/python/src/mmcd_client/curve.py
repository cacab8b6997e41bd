"""CURVE keys for the client sockets, read from the files ``mmc keygen --out PREFIX`` writes.

A key file holds ``#`` comment lines and one line of 40 Z85 characters (``#`` is never the
first character of a Z85 key, so comments cannot be mistaken for one).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Union

import zmq

KEY_LENGTH = 40
_Z85 = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")

PathLike = Union[str, "os.PathLike[str]"]


def _is_key(text: str) -> bool:
    return len(text) == KEY_LENGTH and set(text) <= _Z85


def read_key_file(path: PathLike) -> bytes:
    """The Z85 key in a key file (``PREFIX.pub`` or ``PREFIX.key``).

    Raises ValueError when the file has a line that is neither blank, a ``#`` comment nor a
    key, or does not hold exactly one key.
    """
    keys = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            text = line.strip()
            if _is_key(text):
                keys.append(text)
            elif text and not text.startswith("#"):
                raise ValueError(f"{path}: line {number} is neither a # comment nor a key of 40 Z85 characters")
    if len(keys) != 1:
        raise ValueError(f"{path}: expected one key of 40 Z85 characters, found {len(keys)}")
    return keys[0].encode("ascii")


@dataclass(frozen=True)
class Curve:
    """Makes a socket a CURVE client of a daemon whose public key is ``server_key``.

    ``secret_key`` is this client's own key (a daemon with an allow-list admits only listed
    public keys); without one, a throwaway key pair is made, which only a daemon without an
    allow-list accepts. Keys are 40 Z85 characters.
    """

    server_key: bytes
    secret_key: Optional[bytes] = None

    def __post_init__(self) -> None:
        for name in ("server_key", "secret_key"):
            value = getattr(self, name)
            if value is not None and not _is_key(value.decode("ascii", errors="replace")):
                raise ValueError(f"{name} must be 40 Z85 characters (the text of a key file)")

    @classmethod
    def from_files(cls, server_public_key_file: PathLike, secret_key_file: Optional[PathLike] = None) -> "Curve":
        """Keys from the daemon's ``.pub`` file and this client's ``.key`` file."""
        if secret_key_file is not None and os.fspath(secret_key_file).endswith(".pub"):
            raise ValueError(f"secret_key_file takes the secret key file (PREFIX.key), not {secret_key_file}")
        secret = read_key_file(secret_key_file) if secret_key_file is not None else None
        return cls(read_key_file(server_public_key_file), secret)

    def apply(self, socket: zmq.Socket) -> None:
        """Sets the CURVE client options; call before connecting."""
        if self.secret_key is None:
            public, secret = zmq.curve_keypair()
        else:
            secret = self.secret_key
            public = zmq.curve_public(secret)
        socket.curve_serverkey = self.server_key
        socket.curve_publickey = public
        socket.curve_secretkey = secret
