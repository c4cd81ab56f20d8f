#!/usr/bin/env python3
"""Crash test of `cuifu run`: the real daemon on a rehearsal clock against a recording HTTP
sink that de-duplicates nothing and a recording SMTP server (python3-aiosmtpd), killed with
SIGKILL at random moments while it sends (half of the kills right after a request reached the
sink, some while the sink holds a request), restarted each time from the simulated minute it
had reached. Orders are paid while it is down; some auto-close during the run.

Checks, over every reminder of the run:
  lost             planned reminders that never went out and are not accounted for: a row
                   left 'sending' or 'failed', a 'sent' row the sink never received, a row
                   still planned for a slot long past, or a key the sink got whose row is not
                   'sent' or 'unknown'
  after paid       requests for an order after the restart that followed its payment
  after closed     requests for an order after its auto-close time (simulated)
  caps broken      min gap, the same channel twice in a row, the daily cap, the per-order cap,
                   over what the sinks received (first copy of each key)
  HTTP duplicates  extra copies of a key at the HTTP sink: must not exceed the rows in
                   'sending' (requests possibly in flight) found after the kills
  e-mail dupes     the same Message-ID twice at the SMTP server: must be 0

usage: crash_test.py CUIFU SOURCE_DIR [--kills N] [--seed S] [--buyers B] [--speed X] [--table] [--keep]
Exit 0 when every check holds.
"""
import argparse
import datetime as dt
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from daemon_test import read_jsonl, sink_python, wait_for  # noqa: E402

START = dt.datetime(2026, 11, 24, 8, 0)
END = dt.datetime(2026, 11, 25, 6, 0)
FMT = "%Y-%m-%d %H:%M:%S"

ADDRESSES = {
    "office": "上海市 浦东新区 陆家嘴环路 1000号 金茂大厦 10楼",
    "student": "湖北省 武汉市 洪山区 珞喻路 129号 武汉大学 枫园 宿舍 5栋 302",
    "home": "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502",
    "overseas": "Flat 3, 18 Nathan Road, Kowloon, Hong Kong",
}


def make_orders(rng, buyers):
    orders = []
    for b in range(buyers):
        kind = rng.choice(["office", "office", "student", "home", "home", "overseas", "big"])
        buyer = f"b{b:04d}"
        n = 2 if rng.random() < 0.2 else 1
        created = START - dt.timedelta(hours=3) + dt.timedelta(minutes=rng.randrange(0, 26 * 60))
        for k in range(n):
            c = created + dt.timedelta(minutes=7 * k)
            o = {"order_id": f"{buyer}-{k}", "buyer": buyer, "amount": 1599.0 if kind == "big" else 89.0,
                 "status": "unpaid", "created_at": c.strftime(FMT), "paid_at": None, "closed_at": None, "note": "",
                 "receiver_name": "王磊" if kind != "overseas" else "Carol Chan",
                 "address": ADDRESSES["home" if kind == "big" else kind],
                 "phone": "" if kind == "overseas" else f"138{b:08d}",
                 "email": f"{buyer}@example.com" if kind == "overseas" else "",
                 "item": "记忆棉靠垫办公室腰靠", "shop": "青禾家居旗舰店"}
            if rng.random() < 0.12:  # closes (or auto-closes) early, inside the run
                o["closed_at"] = (c + dt.timedelta(hours=rng.randrange(3, 20))).strftime(FMT)
            orders.append(o)
    return orders


class Run:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.dir = tempfile.mkdtemp(prefix="cuifu-crash-")
        self.procs = []
        self.http_log = os.path.join(self.dir, "http.jsonl")
        self.smtp_log = os.path.join(self.dir, "smtp.jsonl")
        self.http_port = self.start_sink("http_sink.py", self.http_log, "http.port")
        self.smtp_port = self.start_sink("smtp_sink.py", self.smtp_log, "smtp.port")
        self.feed = os.path.join(self.dir, "orders.jsonl")
        self.state = os.path.join(self.dir, "state.db")
        self.daemon_log = os.path.join(self.dir, "daemon.log")
        shutil.copytree(os.path.join(args.source, "rules"), os.path.join(self.dir, "rules"))
        shutil.copytree(os.path.join(args.source, "templates"), os.path.join(self.dir, "templates"))
        os.makedirs(os.path.join(self.dir, "data"))  # rules/address.yaml names ../data/gazetteer.tsv
        shutil.copy(os.path.join(args.source, "data", "gazetteer.tsv"), os.path.join(self.dir, "data"))
        self.orders = make_orders(self.rng, args.buyers)
        self.write_feed()
        self.speed = args.speed
        # Real seconds the daemon runs between two kills, on average.
        self.alive = (END - START).total_seconds() / self.speed / (args.kills + 1)
        self.write_config()
        self.runs = []  # (real time, simulated time) pairs, one per start: maps sink times to daemon time
        self.paid = []  # (order id, real time of the restart that first saw it paid)
        self.in_doubt = []  # rows in 'sending' found after each kill
        self.kills = 0
        self.kills_after_request = 0
        self.daemon = None

    def start_sink(self, script, log, name):
        port_file = os.path.join(self.dir, name)
        p = subprocess.Popen([sink_python(), os.path.join(HERE, script), "--log", log, "--port-file", port_file],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        wait_for(lambda: os.path.exists(port_file), 10, f"{script} to listen")
        with open(port_file) as f:
            return int(f.read())

    def write_feed(self):
        tmp = self.feed + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for o in self.orders:
                f.write(json.dumps(o, ensure_ascii=False) + "\n")
        os.replace(tmp, self.feed)
        os.utime(self.feed, (time.time() - 0.4, time.time() - 0.4))

    def write_config(self):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.status_port = s.getsockname()[1]
        base = f"http://127.0.0.1:{self.http_port}"
        with open(os.path.join(self.dir, "cuifu.yaml"), "w", encoding="utf-8") as f:
            f.write(f"""
feed: {{source: orders.jsonl, poll_interval: 1m, max_age: 30d}}
rules: rules
templates: templates
state: state.db
catch_up_limit: 60m
shutdown_deadline: 5s
status: {{listen: "127.0.0.1:{self.status_port}"}}
channels:
  im: {{webhook: {base}/im, rate_per_second: 500, burst: 50, timeout: 5s}}
  sms:
    provider: generic_json
    url: {base}/sms
    rate_per_second: 500
    burst: 50
    timeout: 5s
  email: {{smtp_url: "smtp://127.0.0.1:{self.smtp_port}", from: "青禾家居 <service@shop.example>", timeout: 5s}}
  phone: {{robot: wecom, robot_webhook: {base}/robot, timeout: 5s}}
""")

    def control(self, body):
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{self.http_port}/_control",
                                                      data=json.dumps(body).encode(), method="POST"), timeout=5)

    def healthz_now(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.status_port}/healthz", timeout=2) as r:
                body = r.read()
        except urllib.error.HTTPError as e:
            body = e.read()
        except OSError:
            return None
        return dt.datetime.strptime(json.loads(body)["now"], FMT)

    def start(self, sim):
        with open(self.daemon_log, "a") as log:
            self.daemon = subprocess.Popen(
                [self.args.cuifu, "run", "--config", os.path.join(self.dir, "cuifu.yaml"), "--simulate-from",
                 sim.strftime("%Y-%m-%d %H:%M:%S"), "--speed", str(self.speed)],
                stdout=log, stderr=log, cwd=self.dir)
        now = wait_for(lambda: self.healthz_now(), 10, "the status endpoint")
        self.runs.append((time.time(), now))

    def sim_at(self, real):
        base = max((r for r in self.runs if r[0] <= real), default=self.runs[0])
        return base[1] + dt.timedelta(seconds=(real - base[0]) * self.speed)

    def db(self, sql):
        con = sqlite3.connect(self.state, timeout=10)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def crash_loop(self):
        sim = START
        self.start(sim)
        while self.kills < self.args.kills:
            os.utime(self.feed, None)
            if self.rng.random() < 0.5:
                # Right after a request reached the sink: its answer may not have come back yet.
                if self.rng.random() < 0.3:
                    self.control({"stall_next": 1, "stall_seconds": 1})
                seen = len(read_jsonl(self.http_log))
                deadline = time.time() + 2 * self.alive
                while time.time() < deadline and len(read_jsonl(self.http_log)) == seen:
                    time.sleep(0.005)
                self.kills_after_request += len(read_jsonl(self.http_log)) > seen
            else:
                time.sleep(self.rng.uniform(0.1, 2 * self.alive))
            sim = self.healthz_now() or self.sim_at(time.time())
            self.daemon.kill()
            self.daemon.wait()
            self.kills += 1
            self.control({"stall_next": 0})
            self.in_doubt.append(self.db("SELECT COUNT(*) FROM outbox WHERE state='sending'")[0][0])
            if sim >= END:
                break
            # Paid while the daemon is down.
            unpaid = [o for o in self.orders if o["status"] == "unpaid" and
                      dt.datetime.strptime(o["created_at"], FMT) < sim]
            for o in self.rng.sample(unpaid, min(len(unpaid), self.rng.choice([0, 1, 2]))):
                o["status"], o["paid_at"] = "paid", sim.strftime(FMT)
                self.paid.append([o["order_id"], None])
            self.write_feed()
            self.start(sim)
            for p in self.paid:
                if p[1] is None:
                    p[1] = time.time()
        # The rest of the range without a crash, then a graceful stop.
        while self.sim_at(time.time()) < END:
            os.utime(self.feed, None)
            time.sleep(0.3)
        self.daemon.send_signal(signal.SIGTERM)
        self.daemon.wait(timeout=20)

    def close(self):
        for p in self.procs:
            p.kill()
            p.wait()
        if self.args.keep:
            print("kept", self.dir, file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ checks
    def deliveries(self):
        """(key, channel, real time) for every copy the sinks received."""
        out = []
        for r in read_jsonl(self.http_log):
            if r["status"] == 200 and r["key"]:
                out.append((r["key"], r["path"].strip("/"), r["time"]))
        for m in read_jsonl(self.smtp_log):
            for line in m["data"].splitlines():
                if line.lower().startswith("x-idempotency-key:"):
                    out.append((line.split(":", 1)[1].strip(), "email", m["time"]))
        return out

    def check(self):
        rows = {r[0]: {"buyer": r[1], "orders": json.loads(r[2]), "channel": r[3], "state": r[4], "send_at": r[5],
                       "error": r[6]}
                for r in self.db("SELECT idempotency_key, buyer, order_ids, channel, state, "
                                 "datetime(send_at, 'unixepoch', '+8 hours'), last_error FROM outbox")}
        copies = self.deliveries()
        first = {}
        count = {}
        for key, ch, t in sorted(copies, key=lambda c: c[2]):
            count[key] = count.get(key, 0) + 1
            first.setdefault(key, (ch, t))
        states = {}
        for r in rows.values():
            states[r["state"]] = states.get(r["state"], 0) + 1
        lost = []
        late_limit = (END - dt.timedelta(minutes=90)).strftime(FMT)
        for key, r in rows.items():
            if r["state"] in ("sending", "failed"):
                lost.append((key, r["state"], r["error"]))
            elif r["state"] == "sent" and key not in first:
                lost.append((key, "sent but never received", ""))
            elif r["state"] == "planned" and r["send_at"] < late_limit:
                lost.append((key, "still planned for " + r["send_at"], r["error"]))
        for key in first:
            if key not in rows:
                lost.append((key, "received but unknown to the outbox", ""))
            elif rows[key]["state"] not in ("sent", "unknown"):
                lost.append((key, f"received but the row is {rows[key]['state']}", rows[key]["error"]))
        unknown_received = sum(1 for k, r in rows.items() if r["state"] == "unknown" and k in first)
        # Paid while down: nothing for the order after the restart that saw it.
        after_paid = []
        paid_at = {oid: t for oid, t in self.paid}
        for key, ch, t in copies:
            for oid in rows.get(key, {}).get("orders", []):
                if oid in paid_at and t > paid_at[oid]:
                    after_paid.append((key, oid))
        # Closed or auto-closed: nothing after its close time (simulated, 1 min tolerance).
        closes = {}
        for o in self.orders:
            c = dt.datetime.strptime(o["created_at"], FMT) + dt.timedelta(hours=72)
            if o["closed_at"]:
                c = min(c, dt.datetime.strptime(o["closed_at"], FMT))
            closes[o["order_id"]] = c
        after_closed = []
        for key, ch, t in copies:
            for oid in rows.get(key, {}).get("orders", []):
                if self.sim_at(t) > closes[oid] + dt.timedelta(minutes=1):
                    after_closed.append((key, oid, str(self.sim_at(t))))
        # Caps over what was received (first copy of each key), in simulated time.
        caps = []
        by_buyer = {}
        for key, (ch, t) in first.items():
            if key in rows:
                by_buyer.setdefault(rows[key]["buyer"], []).append((self.sim_at(t), ch, key))
        for buyer, got in by_buyer.items():
            got.sort()
            per_day = {}
            per_order = {}
            for i, (at, ch, key) in enumerate(got):
                per_day[at.date()] = per_day.get(at.date(), 0) + 1
                for oid in rows[key]["orders"]:
                    per_order[oid] = per_order.get(oid, 0) + 1
                if i and at - got[i - 1][0] < dt.timedelta(hours=2) - dt.timedelta(minutes=3):
                    caps.append((buyer, "min gap", str(got[i - 1][0]), str(at)))
                if i and {"robot": "phone"}.get(ch, ch) == {"robot": "phone"}.get(got[i - 1][1], got[i - 1][1]):
                    caps.append((buyer, "same channel twice", ch))
            caps += [(buyer, "3 a day", str(d)) for d, n in per_day.items() if n > 2]
            caps += [(buyer, "4 for an order", o) for o, n in per_order.items() if n > 3]
        http_dupes = sum(n - 1 for key, n in count.items() if first[key][0] != "email")
        email_dupes = sum(n - 1 for key, n in count.items() if first[key][0] == "email")
        in_doubt = sum(self.in_doubt)
        figures = {
            "kills (SIGKILL)": self.kills,
            "kills right after a request reached the sink": self.kills_after_request,
            "reminders in the outbox": len(rows),
            "delivered (distinct keys)": len(first),
            "orders paid while the daemon was down": len(self.paid),
            "rows in doubt after the kills (sum; max per kill)": f"{in_doubt}; {max(self.in_doubt, default=0)}",
            "outcome unknown (non-deduplicating channel)": f"{states.get('unknown', 0)} "
                                                            f"({unknown_received} of them received)",
            "lost": len(lost),
            "sent after the order was paid": len(after_paid),
            "sent after the order closed or auto-closed": len(after_closed),
            "caps broken": len(caps),
            "HTTP duplicate copies (bound: rows in doubt)": f"{http_dupes} (≤ {in_doubt})",
            "duplicate e-mails": email_dupes,
            "final states": ", ".join(f"{k} {v}" for k, v in sorted(states.items())),
        }
        problems = []
        if lost:
            problems.append(f"lost: {lost[:10]}")
        if after_paid:
            problems.append(f"after paid: {after_paid[:10]}")
        if after_closed:
            problems.append(f"after closed: {after_closed[:10]}")
        if caps:
            problems.append(f"caps: {caps[:10]}")
        if http_dupes > in_doubt:
            problems.append(f"{http_dupes} HTTP duplicates > {in_doubt} rows in doubt")
        if email_dupes:
            problems.append(f"{email_dupes} duplicate e-mails")
        if self.kills < min(self.args.kills, 50):
            problems.append(f"only {self.kills} kills")
        if len(first) < len(rows) // 3:
            problems.append(f"only {len(first)} of {len(rows)} reminders delivered: the run did not send enough")
        return figures, problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cuifu")
    ap.add_argument("source")
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--buyers", type=int, default=150)
    ap.add_argument("--speed", type=int, default=600, help="simulated seconds per real second")
    ap.add_argument("--table", action="store_true", help="print the figures as a Markdown table")
    ap.add_argument("--keep", action="store_true", help="keep the working directory")
    args = ap.parse_args()
    args.cuifu = os.path.abspath(args.cuifu)
    run = Run(args)
    started = time.time()
    try:
        run.crash_loop()
        figures, problems = run.check()
    finally:
        if run.daemon and run.daemon.poll() is None:
            run.daemon.kill()
        run.close()
    print(f"crash test: seed {args.seed}, {args.buyers} buyers, speed {run.speed}x, "
          f"{time.time() - started:.0f} s")
    if args.table:
        print("| what | figure |\n|---|---|")
        for k, v in figures.items():
            print(f"| {k} | {v} |")
    else:
        for k, v in figures.items():
            print(f"  {k}: {v}")
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
