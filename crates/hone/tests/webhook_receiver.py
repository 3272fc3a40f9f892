"""A webhook receiver for hone's tests, verifying every delivery with the Standard Webhooks
reference implementation (the `standardwebhooks` package from PyPI), not with hone's code.

Usage: webhook_receiver.py LOG [--secret S]... [--fail N] [--hang-first SECONDS] [--status N]
Prints the port it listens on (127.0.0.1), then logs one JSON line per request to LOG:
{"n", "webhook_id", "timestamp", "signatures", "verified_with": [indexes of the secrets that
verify it], "type", "job_status", "answered"}.
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

args = argparse.ArgumentParser()
args.add_argument("log")
args.add_argument("--secret", action="append", default=[])
args.add_argument("--fail", type=int, default=0, help="answer 500 to the first N requests")
args.add_argument("--hang-first", type=float, default=0.0)
args.add_argument("--status", type=int, default=200, help="the answer after the failures")
opts = args.parse_args()

lock = threading.Lock()
count = 0


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with lock:
            count += 1
            n = count
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified = []
        for i, secret in enumerate(opts.secret):
            try:
                Webhook(secret).verify(body, headers)
                verified.append(i)
            except Exception:
                pass
        if n == 1 and opts.hang_first > 0:
            open(opts.log + ".hanging", "w").close()
            time.sleep(opts.hang_first)
        answer = 500 if n <= opts.fail else opts.status
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {}
        entry = {
            "n": n,
            "webhook_id": headers.get("webhook-id"),
            "timestamp": headers.get("webhook-timestamp"),
            "signatures": headers.get("webhook-signature", "").split(" "),
            "verified_with": verified,
            "type": doc.get("type"),
            "job_status": (doc.get("data") or {}).get("status"),
            "answered": answer,
        }
        with lock, open(opts.log, "a") as f:
            f.write(json.dumps(entry) + "\n")
        try:
            self.send_response(answer)
            self.send_header("content-length", "0")
            self.end_headers()
        except OSError:
            pass

    def log_message(self, *_):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
