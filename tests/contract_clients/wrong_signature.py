"""Signs the timestamp alone (HMAC-SHA256(secret, timestamp)) instead of secret + timestamp.
Caught by C3: the gateway answers IncompleteSignature to every call."""

import hashlib
import hmac
import time

from contracts.reference_client import BackgroundClient

from . import factory


class WrongSignature(BackgroundClient):
    def _signed(self) -> dict[str, str]:
        timestamp = str(int(time.time() * 1000))
        digest = hmac.new(self.app_secret.encode(), timestamp.encode(), hashlib.sha256)
        return {
            "partner_id": "aidge",
            "sign_method": "sha256",
            "sign_ver": "v2",
            "app_key": self.app_key,
            "timestamp": timestamp,
            "sign": digest.hexdigest().upper(),
        }


make_adapter = factory(WrongSignature)
