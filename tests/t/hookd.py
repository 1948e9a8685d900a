#!/usr/bin/env python3
"""A real webhook receiver for the alert tests (python3's http.server): every
POST is appended as one JSON line {path, headers, body, raw} to OUT (raw: the
body's bytes in base64, for binary bodies). Its answers are
steered by files beside OUT: OUT.status (a status code to answer, default 200)
and OUT.hang (when present, it sleeps that many seconds before answering).
Prints its port on stdout once listening; stops by itself after --lifetime s."""
import base64
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OUT = sys.argv[1]
LIFETIME = float(sys.argv[2]) if len(sys.argv) > 2 else 120


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        try:
            hang = float(open(OUT + ".hang").read().strip() or "0")
        except OSError:
            hang = 0
        if hang:
            time.sleep(hang)
        try:
            status = int(open(OUT + ".status").read().strip())
        except (OSError, ValueError):
            status = 200
        with open(OUT, "a") as f:
            f.write(json.dumps({"path": self.path, "status": status,
                                "headers": {k.lower(): v for k, v in self.headers.items()},
                                "body": body.decode("utf-8", "replace"),
                                "raw": base64.b64encode(body).decode()}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
print(srv.server_address[1], flush=True)
threading.Timer(LIFETIME, srv.shutdown).start()
srv.serve_forever()
