"""Signed callbacks: signing (:mod:`.signing`), checking them on the receiving side (:mod:`.verify`),
and sending them from the server's durable outbox (:mod:`.dispatcher`, imported on its own: this
package's top level needs only the standard library, so receivers and the SDK can use it).
"""

from refgen.callbacks.signing import sign, signed_headers, signing_string
from refgen.callbacks.verify import NonceCache, verify

__all__ = ["NonceCache", "sign", "signed_headers", "signing_string", "verify"]
