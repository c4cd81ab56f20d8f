#!/usr/bin/env python3
"""A recording HTTP sink for cuifu's integration tests (127.0.0.1 only).

Every request is appended as one JSON line to --log: path, method, headers, body, the
status answered, and whether its X-Idempotency-Key was already accepted (a gateway
would drop it as a duplicate). The port is written to --port-file once listening.

Control (POST /_control, JSON): {"fail_next": N, "fail_status": 500, "fail_path": "/sms"}
answers the next N requests (to that path, or any) with that status; {"stall_next": N, "stall_seconds": S} holds the next N requests
for S seconds before answering 200. GET /_health answers 200.
"""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
state = {"fail_next": 0, "fail_status": 500, "stall_next": 0, "stall_seconds": 0, "accepted": set()}


def make_handler(log_path):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body=b'{"ok":true}'):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self.reply(200 if self.path == "/_health" else 404)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            if self.path == "/_control":
                with lock:
                    state.update(json.loads(body))
                self.reply(200)
                return
            key = self.headers.get("X-Idempotency-Key", "")
            stall = 0
            with lock:
                if state["fail_next"] > 0 and state.get("fail_path") in (None, self.path):
                    state["fail_next"] -= 1
                    status, duplicate = state["fail_status"], False
                else:
                    status = 200
                    duplicate = key in state["accepted"]
                    state["accepted"].add(key)
                    if state["stall_next"] > 0:
                        state["stall_next"] -= 1
                        stall = state["stall_seconds"]
                record = {"time": time.time(), "method": "POST", "path": self.path, "key": key,
                          "headers": dict(self.headers.items()), "body": body, "status": status,
                          "duplicate": duplicate, "stalled": stall}
                with open(log_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(record, ensure_ascii=False) + "\n")
            if stall:
                time.sleep(stall)
            try:
                self.reply(status)
            except OSError:
                pass  # the client went away (killed while we stalled)

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    # A backlog for many connections opened at once (the daemon's workers; the default 5 would
    # leave the rest waiting for SYN retries of 1, 3, 7... s).
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args.log))
    server.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
