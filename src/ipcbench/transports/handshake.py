"""Mutual challenge/response over a fresh channel, before any message is trusted.

A channel that another local process can reach (a port on 127.0.0.1, a socket path) may be
answered by whoever connects first. Both sides hold a per-channel random secret, handed to the
child at its start (never over the channel), and prove they know it with an HMAC of the other
side's fresh nonce: the secret itself never crosses the channel, and a recorded answer is useless
for the next channel. Until the handshake succeeds nothing received is parsed, let alone
unpickled: the answers are compared as bytes with hmac.compare_digest.
"""

import hashlib
import hmac
import secrets

NONCE_SIZE = 32
MAC_SIZE = hashlib.sha256().digest_size
# Long enough for a spawned child to import and connect on a loaded machine.
HANDSHAKE_TIMEOUT = 30.0


class PeerNotAuthenticated(ConnectionError):
    """The peer did not prove it knows the channel's secret: an intruder connected first."""


def new_secret() -> bytes:
    return secrets.token_bytes(32)


def _mac(secret: bytes, role: bytes, nonce: bytes) -> bytes:
    return hmac.new(secret, role + nonce, hashlib.sha256).digest()


def parent_side(send, recv, secret: bytes, channel: str) -> None:
    """Challenge the peer, check its answer, then answer its challenge.

    `recv()` returns the next message as bytes-like (it must give up with an exception after a
    timeout); `channel` names the transport in the error.
    """
    nonce = secrets.token_bytes(NONCE_SIZE)
    send(nonce)
    answer = bytes(recv())
    child_nonce, child_mac = answer[:NONCE_SIZE], answer[NONCE_SIZE:]
    expected = _mac(secret, b"child", nonce)
    if len(answer) != NONCE_SIZE + MAC_SIZE or not hmac.compare_digest(child_mac, expected):
        raise PeerNotAuthenticated(
            f"{channel}: the peer that connected failed the handshake (another local process "
            "connected first?); nothing it sent was used"
        )
    send(_mac(secret, b"parent", child_nonce))


def child_side(send, recv, secret: bytes, channel: str) -> None:
    """Answer the parent's challenge with a challenge of our own, then check the parent's."""
    parent_nonce = bytes(recv())
    nonce = secrets.token_bytes(NONCE_SIZE)
    send(nonce + _mac(secret, b"child", parent_nonce))
    if not hmac.compare_digest(bytes(recv()), _mac(secret, b"parent", nonce)):
        raise PeerNotAuthenticated(f"{channel}: the parent failed the handshake")
