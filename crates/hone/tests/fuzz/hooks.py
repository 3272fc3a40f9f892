"""schemathesis hooks for crates/hone/tests/schemathesis.rs.

An Idempotency-Key binds the first request's body: the same key with another body is refused
with 422, as the IETF draft asks. The fuzzer draws keys at random and cannot know which it
used before, so each valid key it draws is bound to a hash of its body here: the same key
with the same body still replays the first job (200), and a key never meets another body.
"""

import hashlib
import json
import re

import schemathesis

VALID_KEY = re.compile(r"[!-~]([ -~]{0,253}[!-~])?")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() != "idempotency-key":
            continue
        key = headers[name]
        if not isinstance(key, str) or not VALID_KEY.fullmatch(key):
            continue
        body = json.dumps(case.body, sort_keys=True, default=str)
        digest = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        headers[name] = f"{key[:200]}.{digest}"
