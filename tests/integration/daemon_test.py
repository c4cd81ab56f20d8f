#!/usr/bin/env python3
"""Integration tests of `cuifu run`: the real binary on a simulated clock against a real
HTTP sink and a real SMTP server, all on 127.0.0.1 with free ports.

usage: daemon_test.py CUIFU_BINARY SOURCE_DIR [unittest args]
"""
import datetime
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

CUIFU = None
SOURCE = None
HERE = os.path.dirname(os.path.abspath(__file__))
DAY = "2026-11-24"


def sink_python():
    """An interpreter with aiosmtpd (python3-aiosmtpd is a Debian package: /usr/bin/python3)."""
    for exe in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(exe) and subprocess.run([exe, "-c", "import aiosmtpd"], capture_output=True).returncode == 0:
            return exe
    # tools/setup installs it: its absence is a broken setup, not a reason to pass quietly.
    raise RuntimeError("python3-aiosmtpd is not installed (run tools/setup)")


SINK_PYTHON = None


def order(oid, buyer, address, created, amount=99.0, status="unpaid", paid_at=None, phone="", email="", name="王磊",
          item="记忆棉靠垫办公室腰靠"):
    return {"order_id": oid, "buyer": buyer, "amount": amount, "status": status, "created_at": created,
            "paid_at": paid_at, "closed_at": None, "note": "", "receiver_name": name, "address": address,
            "phone": phone, "email": email, "item": item, "shop": "青禾家居旗舰店"}


# Sanitizer builds run several times slower (tools/sanitize sets CUIFU_TEST_TIMEOUT_SCALE):
# real-time limits are multiplied by it, and tests that must keep to the simulated minute
# rehearse that much slower.
SLOWDOWN = float(os.environ.get("CUIFU_TEST_TIMEOUT_SCALE", "1"))


def wait_for(predicate, timeout, what):
    timeout *= SLOWDOWN
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class DaemonTestCase(unittest.TestCase):
    speed = 600
    log_level = "debug"

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cuifu-it-")
        self.procs = []
        self.http_log = os.path.join(self.dir, "http.jsonl")
        self.smtp_log = os.path.join(self.dir, "smtp.jsonl")
        self.http_port = self.start_sink("http_sink.py", self.http_log, "http.port")
        self.smtp_port = self.start_sink("smtp_sink.py", self.smtp_log, "smtp.port")
        self.feed = os.path.join(self.dir, "orders.jsonl")
        self.state = os.path.join(self.dir, "state.db")
        self.rules = os.path.join(self.dir, "rules")
        self.templates = os.path.join(self.dir, "templates")
        shutil.copytree(os.path.join(SOURCE, "rules"), self.rules)
        shutil.copytree(os.path.join(SOURCE, "templates"), self.templates)
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)  # rules/address.yaml names ../data/gazetteer.tsv
        shutil.copy(os.path.join(SOURCE, "data", "gazetteer.tsv"), os.path.join(self.dir, "data"))
        self.daemon = None
        self.stderr_path = os.path.join(self.dir, "daemon.log")

    def tearDown(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.kill()
            self.daemon.wait()
        for p in self.procs:
            p.kill()
            p.wait()
        if os.environ.get("CUIFU_KEEP_TEST_DIR"):
            print("kept", self.dir, file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ helpers
    def start_sink(self, script, log, port_name):
        port_file = os.path.join(self.dir, port_name)
        global SINK_PYTHON
        SINK_PYTHON = SINK_PYTHON or sink_python()
        p = subprocess.Popen([SINK_PYTHON, os.path.join(HERE, script), "--log", log, "--port-file", port_file],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        wait_for(lambda: os.path.exists(port_file), 10, f"{script} to listen")
        with open(port_file) as f:
            return int(f.read())

    def free_port(self):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def write_feed(self, orders):
        tmp = self.feed + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for o in orders:
                f.write(json.dumps(o, ensure_ascii=False) + "\n")
        os.replace(tmp, self.feed)
        # Written just over the poller's settle interval ago (0.3 s real): read at once. Not
        # more: at 600x, each real second ages the feed by 10 simulated minutes.
        os.utime(self.feed, (time.time() - 0.4, time.time() - 0.4))

    def touch_feed(self):
        os.utime(self.feed, None)

    def write_chat(self, messages):
        """The shop's chat export (CSV, UTF-8): (buyer, time, sender, text) rows."""
        path = os.path.join(self.dir, "chat.csv")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write("买家,时间,发送方,内容\r\n")
            for m in messages:
                f.write(",".join(m) + "\r\n")
        os.replace(path + ".tmp", path)
        os.utime(path, (time.time() - 0.4, time.time() - 0.4))

    def write_config(self, max_age="1d", catch_up="60m", extra_im="", im_backoff=("1s", "2s"), chat=False,
                     extra="", poll_interval="1m"):
        self.status_port = self.free_port()
        base = f"http://127.0.0.1:{self.http_port}"
        self.config = os.path.join(self.dir, "cuifu.yaml")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(f"""
feed:
  source: orders.jsonl
  poll_interval: {poll_interval}
  max_age: {max_age}
{"chat: chat.csv" if chat else ""}
rules: rules
templates: templates
state: state.db
catch_up_limit: {catch_up}
shutdown_deadline: 5s
{extra}
status:
  listen: 127.0.0.1:{self.status_port}
  optout_token_env: CUIFU_TEST_OPTOUT_TOKEN
channels:
  im:
    webhook: {base}/im
    rate_per_second: 50
    burst: 20
    backoff_initial: {im_backoff[0]}
    backoff_max: {im_backoff[1]}
{extra_im}
  sms:
    provider: generic_json
    url: {base}/sms
    fields: {{phone: mobile, message: content}}
    rate_per_second: 50
    burst: 20
    backoff_initial: 1s
    backoff_max: 1s
  email:
    smtp_url: smtp://127.0.0.1:{self.smtp_port}
    from: 青禾家居 <service@shop.example>
    timeout: 5s
  phone:
    robot: wecom
    robot_webhook: {base}/robot
""")

    def control(self, settings):
        """Tells the HTTP sink to fail or stall its next requests."""
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}/_control", data=json.dumps(settings).encode(), method="POST"))

    def env(self):
        e = dict(os.environ)
        e["CUIFU_TEST_OPTOUT_TOKEN"] = "s3cret"
        return e

    def start_daemon(self, simulate_from, speed=None):
        with open(self.stderr_path, "a") as log:
            self.daemon = subprocess.Popen(
                [CUIFU, "run", "--config", self.config, "--simulate-from", simulate_from, "--speed",
                 str(speed or self.speed), "--log-level", self.log_level],
                stdout=log, stderr=log, env=self.env(), cwd=self.dir)
        self.started = time.time()
        wait_for(lambda: self.status("/healthz", ok_only=False) is not None, 10, "the status endpoint")

    def status(self, path, ok_only=True):
        try:
            # 2 s, longer under a sanitizer (CUIFU_TEST_TIMEOUT_SCALE), which slows the daemon down.
            with urllib.request.urlopen(f"http://127.0.0.1:{self.status_port}{path}", timeout=2 * SLOWDOWN) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return None if ok_only else (e.code, e.read().decode())
        except OSError:
            return None

    def stop_daemon(self, sig=signal.SIGTERM, timeout=15):
        self.daemon.send_signal(sig)
        return self.daemon.wait(timeout=timeout)

    def log_text(self):
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def http_requests(self, path=None):
        return [r for r in read_jsonl(self.http_log) if path is None or r["path"] == path]

    def cuifu(self, *args):
        # 30 s, longer under a sanitizer: `cuifu outbox` of 150,000 rows took longer under TSan.
        out = subprocess.run([CUIFU, *args], capture_output=True, text=True, env=self.env(), cwd=self.dir,
                             timeout=30 * SLOWDOWN)
        self.assertEqual(out.returncode, 0, out.stderr + out.stdout)
        return out.stdout

    def outbox(self):
        return json.loads(self.cuifu("outbox", "--db", self.state, "--format", "json"))

    def delivered_keys(self):
        """Keys the gateways accepted (a duplicate of an accepted key is dropped, as a gateway would)."""
        keys = [r["key"] for r in self.http_requests() if r["status"] == 200 and not r["duplicate"]]
        for m in read_jsonl(self.smtp_log):
            for line in m["data"].splitlines():
                if line.lower().startswith("x-idempotency-key:"):
                    keys.append(line.split(":", 1)[1].strip())
        return keys


class DayRehearsal(DaemonTestCase):
    """A morning of a shop day: every reminder the plan shows is sent, exactly once, on time."""
    # A later step's minute follows the earlier send's, so the daemon must keep up to the
    # minute (50 ms at 1200x): a sanitizer build rehearses SLOWDOWN times slower.
    speed = 1200 / SLOWDOWN

    def test_daemon_sends_exactly_what_plan_state_shows(self):
        created = "2026-11-23 23:00:00"
        office = "上海市 浦东新区 陆家嘴环路 1000号 金茂大厦 10楼"
        self.write_feed([
            order("A1", "alice", office, created, phone="13800000001", name="王丽"),
            order("A2", "alice", office, "2026-11-23 23:10:00", phone="13800000001", name="王丽"),
            order("C1", "carol", "Flat 3, 18 Nathan Road, Kowloon, Hong Kong", created, email="carol@example.com",
                  name="Carol Chan"),
            order("D1", "dave", "浙江省 杭州市 西湖区 文三路 100号 3栋 2单元 501", created, amount=1599.0,
                  phone="13800000004", name="赵强"),
            order("E1", "erin", office, created, phone="13800000005", name="李娜"),
        ])
        self.write_config()
        # Existing state: erin opted out of SMS. plan and the daemon both read it.
        self.cuifu("optout", "add", "--db", self.state, "--buyer", "erin", "--channel", "sms")
        plan = json.loads(self.cuifu("plan", "--feed", self.feed, "--state", self.state, "--rules", self.rules,
                                     "--templates", self.templates, "--now", f"{DAY} 07:50", "--date", DAY,
                                     "--format", "json"))
        expected = {r["idempotency_key"]: r for r in plan["reminders"]}
        self.assertEqual(len(expected), 7)  # erin: no SMS (opted out), no IM twice in a row
        self.assertTrue(all(r["send_at"] < f"{DAY}T13:40" for r in expected.values()),
                        "the test's orders must all be due this morning")
        channels = {r["channel"] for r in expected.values()}
        self.assertEqual(channels, {"im", "sms", "email", "phone"})
        self.assertFalse(any(r["buyer"] == "erin" and r["channel"] == "sms" for r in expected.values()))

        # The SMS gateway fails twice (HTTP 500) at first: retried with the same key.
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}/_control",
            data=b'{"fail_next": 2, "fail_status": 503, "fail_path": "/sms"}', method="POST"))
        self.start_daemon(f"{DAY} 07:50")
        # 07:50 -> 13:40 at 1200x is about 17.5 s; keep the feed fresh meanwhile.
        deadline = self.started + (5 * 60 + 50) * 60 / self.speed
        while time.time() < deadline:
            time.sleep(0.5)
            self.touch_feed()
        code, body = self.status("/metrics")
        self.assertIn('cuifu_reminders_total{channel="im",state="sent"}', body)
        self.assertIn("cuifu_send_latency_seconds_count", body)
        self.assertEqual(self.stop_daemon(), 0, self.log_text())

        keys = self.delivered_keys()
        self.assertEqual(sorted(keys), sorted(set(keys)), "a reminder arrived twice")
        self.assertEqual(set(keys), set(expected), self.log_text())
        for r in self.http_requests():
            self.assertTrue(r["key"].startswith("cf-"), r)
            self.assertEqual(r["headers"].get("X-Idempotency-Key"), r["key"])
        # Each reminder went out at the minute the plan said, through the right channel.
        rows = {r["idempotency_key"]: r for r in self.outbox()}
        for key, p in expected.items():
            self.assertEqual(rows[key]["state"], "sent", rows[key])
            self.assertEqual(rows[key]["channel"], p["channel"])
            self.assertEqual(rows[key]["send_at"].replace(" ", "T")[:16], p["send_at"][:16])
        # The 503s were retried (same key) and then accepted once.
        failed = [r for r in self.http_requests() if r["status"] == 503]
        self.assertEqual(len(failed), 2)
        self.assertIn(failed[0]["key"], keys)
        # E-mail: UTF-8 subject encoded, the key in Message-ID; phone: a call task.
        mails = read_jsonl(self.smtp_log)
        self.assertEqual(len(mails), 1)
        self.assertIn("Subject: =?UTF-8?B?", mails[0]["data"])
        self.assertIn("Message-ID: <cf-", mails[0]["data"])
        calls = json.loads(self.cuifu("calls", "--db", self.state, "--date", DAY, "--format", "json"))
        self.assertEqual([c["buyer"] for c in calls], ["dave"])
        # Logs never show a full phone number or e-mail address.
        log = self.log_text()
        for secret in ("13800000001", "13800000004", "carol@example.com"):
            self.assertNotIn(secret, log)


class WholeDayRehearsal(DaemonTestCase):
    """A shop day, planned the evening before and again at midday, against what the daemon sent.

    Nobody pays in between, so both plans must list exactly what goes out: the same reminders,
    minute for minute and word for word, including the ones that only come about during the day
    (a combined group one of whose orders auto-closes, a buyer whose "paid within the last hour"
    skip is over by the morning)."""
    speed = 1200 / SLOWDOWN
    EVENING = "2026-11-23 22:00"
    PREVIOUS = "2026-11-23"

    def plan(self, now, state=False):
        args = ["plan", "--feed", self.feed, "--rules", self.rules, "--templates", self.templates, "--now", now,
                "--date", DAY, "--format", "json"]
        if state:
            args += ["--state", self.state]
        return {r["idempotency_key"]: r for r in json.loads(self.cuifu(*args))["reminders"]}

    def rehearse(self, simulate_from, until):
        """Runs the daemon from `simulate_from` until about `until` (both "HH:MM" on DAY), then stops it."""
        self.start_daemon(f"{DAY} {simulate_from}")
        minutes = lambda hm: int(hm[:2]) * 60 + int(hm[3:])
        deadline = self.started + (minutes(until) - minutes(simulate_from)) * 60 / self.speed
        while time.time() < deadline:
            time.sleep(0.5)
            self.touch_feed()
        self.assertEqual(self.stop_daemon(), 0, self.log_text())

    def test_the_plans_made_the_evening_before_and_at_midday_list_what_was_sent(self):
        home = "浙江省 杭州市 西湖区 文一路 100号 翠苑小区 3幢 201"
        office = "上海市 浦东新区 陆家嘴环路 1000号 金茂大厦 10楼"
        prev = self.PREVIOUS
        self.write_feed([
            order("A1", "alice", office, f"{prev} 20:00:00", phone="13800000001", name="王丽"),
            order("D1", "dave", home, f"{prev} 19:00:00", amount=1599.0, phone="13800000004", name="赵强"),
            # combo: C1 auto-closes at 11:00 today (72 h); C2 then goes on as its own sequence.
            order("C1", "combo", home, "2026-11-21 11:00:00", phone="13800000006", name="孙悦"),
            order("C2", "combo", home, "2026-11-22 20:00:00", phone="13800000006", name="孙悦"),
            # payer paid P1 at 21:30 last night: nothing before 22:30, then U1's sequence.
            order("P1", "payer", home, f"{prev} 21:20:00", status="paid", paid_at=f"{prev} 21:30:00",
                  phone="13800000007", name="钱多"),
            order("U1", "payer", home, f"{prev} 21:00:00", phone="13800000007", name="钱多"),
        ])
        self.write_config()
        evening = self.plan(self.EVENING)
        self.assertGreaterEqual(len(evening), 8, json.dumps(evening, ensure_ascii=False, indent=1))
        self.assertTrue(any(r["order_ids"] == ["C2"] for r in evening.values()),
                        "the plan must show C2's reminders after C1 auto-closes")
        self.assertTrue(any(r["buyer"] == "payer" for r in evening.values()))
        self.assertFalse(any("11:20" <= r["send_at"][11:16] < "12:00" for r in evening.values()),
                         "the test stops the daemon at 11:30-11:40: nothing may be due then")

        self.rehearse("07:45", "11:30")
        midday = self.plan(f"{DAY} 12:00", state=True)
        # Restarted from 11:40 with the feed as it was (aged past the poller's settle time, so
        # read at once): the daemon plans at 11:40 what the midday plan shows from 12:00.
        os.utime(self.feed, (time.time() - 0.4, time.time() - 0.4))
        self.rehearse("11:40", "22:00")

        rows = {r["idempotency_key"]: r for r in self.outbox()}
        sent = {k: r for k, r in rows.items() if r["state"] == "sent"}
        keys = self.delivered_keys()
        self.assertEqual(sorted(keys), sorted(set(keys)), "a reminder arrived twice")
        self.assertEqual(set(keys), set(sent))

        def minute(text):
            return datetime.datetime.strptime(text.replace("T", " ")[:16], "%Y-%m-%d %H:%M")

        def compare(plan, since, what):
            expected = {k: r for k, r in plan.items() if r["send_at"][11:16] >= since}
            got = {k: r for k, r in sent.items() if r["send_at"][11:16] >= since}
            self.assertEqual(set(got), set(expected), f"{what}: keys differ\n" + self.log_text()[-4000:])
            for key, p in expected.items():
                r = got[key]
                self.assertEqual(r["send_at"].replace(" ", "T")[:16], p["send_at"][:16], (what, p, r))
                self.assertEqual(r["channel"], p["channel"], (what, p, r))
                self.assertEqual(r["message"], p["message"], (what, p, r))
                # Sent when planned: a simulated minute is 50 ms here, so a few allow for a busy machine.
                lateness = minute(r["sent_at"]) - minute(r["send_at"])
                self.assertTrue(0 <= lateness.total_seconds() <= 5 * 60, (what, r))

        compare(evening, "00:00", "the evening-before plan")
        compare(midday, "12:00", "the midday plan with --state")


class PaidBeforeItsSlot(DaemonTestCase):
    speed = 120  # 2 simulated minutes per second

    def test_nothing_arrives_for_an_order_a_later_snapshot_shows_paid(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        frank = order("F1", "frank", home, "2026-11-23 22:00:00", phone="13800000006")
        erin = order("E1", "erin", home, f"{DAY} 07:40:00", phone="13800000005")
        self.write_feed([frank, erin])
        self.write_config()
        self.start_daemon(f"{DAY} 07:58")  # frank's im is due 08:00, erin's 08:10
        wait_for(lambda: self.http_requests("/im"), 5, "frank's reminder")
        erin_paid = dict(erin, status="paid", paid_at=f"{DAY} 08:02:00")
        self.write_feed([frank, erin_paid])
        # Run past erin's slot (08:10 is ~6 s after the start).
        while time.time() < self.started + 9:
            time.sleep(0.2)
        self.assertEqual(self.stop_daemon(), 0)
        buyers = [json.loads(r["body"])["buyer"] for r in self.http_requests()]
        self.assertEqual(buyers, ["frank"])
        erin_rows = [r for r in self.outbox() if r["buyer"] == "erin"]
        self.assertTrue(erin_rows)
        self.assertTrue(all(r["state"] == "cancelled" for r in erin_rows), erin_rows)
        self.assertIn("paid", erin_rows[0]["last_error"])


class ExportWatched(DaemonTestCase):
    speed = 60  # 1 simulated minute per second

    def test_a_new_export_is_read_when_it_lands_not_at_the_next_poll(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        wendy = order("W1", "wendy", home, f"{DAY} 07:40:00", phone="13800000007")  # im due 08:10
        self.write_feed([wendy])
        # An hour between polls (a minute of real time at 60x): only the watch on the export's
        # directory reads the next export before wendy's slot.
        self.write_config(poll_interval="1h")
        self.start_daemon(f"{DAY} 07:58")
        wait_for(lambda: [r for r in self.outbox() if r["state"] == "planned"], 5, "wendy's reminder planned")
        self.write_feed([dict(wendy, status="paid", paid_at=f"{DAY} 07:59:00")])
        wait_for(lambda: all(r["state"] == "cancelled" for r in self.outbox()), 5, "the reminder cancelled")
        self.assertEqual(self.stop_daemon(), 0)
        self.assertEqual(self.http_requests("/im"), [])
        self.assertIn("paid", self.outbox()[0]["last_error"])


class ExportEffectLoggedAtInfo(DaemonTestCase):
    """Under systemd the daemon logs at info: each new export's effect on the outbox is there,
    however small and quick (a re-plan that changes nothing stays at debug)."""
    speed = 60
    log_level = "info"

    def start_with_one_buyer(self, order_id, buyer, phone):
        """The daemon started at 03:00 (quiet hours: the buyer's reminders stay planned) on an
        export of one order placed at 02:40; returns the order."""
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        placed = order(order_id, buyer, home, f"{DAY} 02:40:00", phone=phone)
        self.write_feed([placed])
        self.write_config()
        self.start_daemon(f"{DAY} 03:00")
        return placed

    def test_a_paid_order_s_cancellation_is_reported_at_info(self):
        wendy = self.start_with_one_buyer("W1", "wendy", "13800000007")
        wait_for(lambda: [r for r in self.outbox() if r["state"] == "planned"], 10 * SLOWDOWN, "wendy's reminder")
        wait_for(lambda: "reconciled (new feed snapshot)" in self.log_text(), 10 * SLOWDOWN, "the first reconcile")
        self.write_feed([dict(wendy, status="paid", paid_at=f"{DAY} 03:01:00")])
        wait_for(lambda: re.search(r"reconciled \(new feed snapshot\) in \d+ ms: 1 of 1 buyers planned again: "
                                   r"0 planned, 0 new, 0 re-planned, \d+ cancelled", self.log_text()),
                 10 * SLOWDOWN, "the paid export's reconcile line at info")
        self.assertEqual(self.stop_daemon(), 0)
        self.assertNotIn(" debug ", self.log_text(), "the daemon was to log at info")
        self.assertTrue(all(r["state"] == "cancelled" for r in self.outbox()), self.outbox())

    def test_healthz_tells_when_the_plan_is_made_and_what_the_last_reconcile_did(self):
        xia = self.start_with_one_buyer("X1", "xia", "13800000008")
        health = wait_for(lambda: (lambda h: h if h["last_reconcile"] else None)(
            json.loads(self.status("/healthz", ok_only=False)[1])), 10 * SLOWDOWN, "the first reconcile in /healthz")
        last = health["last_reconcile"]
        planned = [r for r in self.outbox() if r["state"] == "planned"]
        self.assertTrue(planned)
        self.assertEqual((last["why"], last["ok"], last["buyers_planned"], last["new"], last["cancelled"]),
                         ("new feed snapshot", True, 1, len(planned), 0), health)
        self.assertGreaterEqual(last["seconds"], 0)
        self.assertTrue(last["finished"].startswith(DAY), health)
        self.assertIn("cuifu_reconciling ", self.status("/metrics")[1])
        self.assertIn("cuifu_last_reconcile_seconds ", self.status("/metrics")[1])
        self.write_feed([dict(xia, status="paid", paid_at=f"{DAY} 03:01:00")])
        health = wait_for(lambda: (lambda h: h if h["last_reconcile"]["cancelled"] else None)(
            json.loads(self.status("/healthz", ok_only=False)[1])), 10 * SLOWDOWN, "the paid export's reconcile")
        self.assertEqual(health["last_reconcile"]["cancelled"], len(planned), health)
        self.assertEqual(self.stop_daemon(), 0)


class CountsMadeAgainAtStart(DaemonTestCase):
    speed = 60

    def test_a_daemon_started_on_counts_an_older_build_left_wrong_shows_the_outbox_as_it_is(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        self.write_feed([order("H1", "hana", home, "2026-11-23 22:00:00"),
                         order("J1", "jun", home, "2026-11-23 22:05:00")])
        self.write_config()
        self.start_daemon(f"{DAY} 03:00")  # quiet hours: the reminders stay planned
        wait_for(lambda: "reconciled (new feed snapshot)" in self.log_text(), 10 * SLOWDOWN, "the reconcile")
        self.assertEqual(self.stop_daemon(), 0)
        planned = [r for r in self.outbox() if r["state"] == "planned"]
        self.assertTrue(planned, self.outbox())
        # As a daemon of an older build leaves the counts when it writes rows after a newer cuifu
        # upgraded the file: the rows are there, their counts are not.
        with sqlite3.connect(self.state) as db:
            db.execute("DELETE FROM outbox_counts")
        self.start_daemon(f"{DAY} 03:01")
        health = json.loads(self.status("/healthz", ok_only=False)[1])
        self.assertEqual(health["outbox_depth"], len(planned))
        self.assertIn(f"cuifu_outbox_depth {len(planned)}", self.status("/metrics")[1])
        self.assertEqual(self.stop_daemon(), 0)
        self.assertEqual(self.log_text().count("counted again"), 1, self.log_text())


class ChatStop(DaemonTestCase):
    speed = 120  # 2 simulated minutes per second

    def test_a_buyer_who_writes_in_the_chat_that_they_will_not_buy_is_not_reminded(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        frank = order("F1", "frank", home, "2026-11-23 22:00:00", phone="13800000006")
        gina = order("G1", "gina", home, f"{DAY} 07:40:00", phone="13800000007")
        self.write_feed([frank, gina])
        self.write_chat([("frank", f"{DAY} 07:30:00", "买家", "这个什么时候发货")])
        self.write_config(chat=True)
        self.start_daemon(f"{DAY} 07:58")  # frank's im is due 08:00, gina's 08:10
        wait_for(lambda: self.http_requests("/im"), 5, "frank's reminder")
        health = json.loads(self.status("/healthz", ok_only=False)[1])
        self.assertEqual(health["chat_messages"], 1, health)
        self.assertEqual(health["chat_error"], "", health)
        # gina writes at about 08:03; the daemon reads the new chat on its next poll.
        self.write_chat([("frank", f"{DAY} 07:30:00", "买家", "这个什么时候发货"),
                         ("gina", f"{DAY} 08:03:00", "买家", "不好意思拍错了，不要了")])
        while time.time() < self.started + 9:  # past gina's 08:10 slot
            time.sleep(0.2)
            self.touch_feed()
        self.assertEqual(self.stop_daemon(), 0, self.log_text())
        ims = [json.loads(r["body"]) for r in self.http_requests("/im")]
        self.assertEqual([m["buyer"] for m in ims], ["frank"], self.log_text())
        # frank's reason came from the chat: the delivery variant.
        self.assertIn("物流信息会同步到订单里", ims[0]["message"])
        gina_rows = [r for r in self.outbox() if r["buyer"] == "gina"]
        self.assertTrue(gina_rows)
        self.assertTrue(all(r["state"] == "cancelled" for r in gina_rows), gina_rows)
        self.assertIn("stop will_not_buy", gina_rows[0]["last_error"])
        self.assertIn("chat snapshot:", self.log_text())


class StaleFeed(DaemonTestCase):
    speed = 600 / SLOWDOWN  # 10 simulated minutes per second (a sanitizer build: SLOWDOWN times slower)

    def test_sending_pauses_on_a_stale_feed_and_resumes_on_a_fresh_one(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        self.write_feed([order("G1", "gina", home, "2026-11-23 22:00:00"),
                         order("H1", "hank", home, f"{DAY} 07:50:00")])  # im due 08:00 and 08:20
        self.write_config(max_age="10m")
        self.start_daemon(f"{DAY} 07:58")
        # The export is fresh for 1 s from here: written again once the daemon answers, so a slow
        # start on a loaded machine does not spend its freshness before gina's 08:00 slot.
        self.touch_feed()
        wait_for(lambda: self.http_requests("/im"), 3, "gina's reminder")
        # No new export: after 10 simulated minutes (1 s) the feed is stale.
        code, body = wait_for(lambda: (lambda s: s if s and s[0] == 503 else None)(self.status("/healthz", False)),
                              4, "healthz to report the pause")
        self.assertEqual(json.loads(body)["status"], "paused")
        self.assertIn("cuifu_sending_paused 1", self.status("/metrics")[1])
        # hank's slot (08:20, ~2.2 s) passes while paused: nothing is sent.
        while time.time() < self.started + 3.5 * SLOWDOWN:
            time.sleep(0.1)
        self.assertEqual(len(self.http_requests("/im")), 1)
        self.touch_feed()  # a fresh export: sending resumes, hank is caught up (13 min late < 60)
        wait_for(lambda: len(self.http_requests("/im")) == 2, 4, "hank's reminder after the resume")
        # The export goes stale again 1 s after the touch, maybe already by now on a loaded machine:
        # as the shop's exporter would, write it again; healthz then says OK.
        self.touch_feed()
        wait_for(lambda: (self.status("/healthz") or (None,))[0] == 200, 4, "healthz OK on the fresh export")
        self.assertEqual(self.stop_daemon(), 0)
        self.assertIn("sending PAUSED", self.log_text())
        self.assertIn("sending resumed", self.log_text())


class PauseAndResumeAreLogged(DaemonTestCase):
    speed = 600  # 10 simulated minutes per second

    def log_lines(self, needle):
        return [line for line in self.log_text().splitlines() if needle in line]

    def test_a_daemon_started_on_a_stale_export_warns_why_and_warns_again_when_it_resumes(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        self.write_feed([order("G1", "gina", home, f"{DAY} 07:50:00")])
        os.utime(self.feed, (time.time() - 12, time.time() - 12))  # 2 simulated hours old
        self.write_config(max_age="30m")
        self.start_daemon(f"{DAY} 07:58")
        paused = wait_for(lambda: self.log_lines("sending PAUSED"), 4, "the pause to be logged")
        self.assertIn("warning", paused[0])
        self.assertRegex(paused[0], r"feed is \d+ min old \(max 30 min\)")
        self.touch_feed()
        resumed = wait_for(lambda: self.log_lines("sending resumed"), 4, "the resume to be logged")
        self.assertIn("warning", resumed[0])
        self.assertIn("it was paused: feed is", resumed[0])
        self.assertEqual(self.stop_daemon(), 0)


class Reload(DaemonTestCase):
    speed = 600

    def test_sighup_with_a_broken_rules_file_keeps_the_old_rules(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        self.write_feed([order("G1", "gina", home, "2026-11-23 22:00:00"),
                         order("H1", "hank", home, f"{DAY} 07:50:00")])  # im due 08:00 and 08:20
        self.write_config()
        self.start_daemon(f"{DAY} 07:58")
        wait_for(lambda: self.http_requests("/im"), 3, "gina's reminder")
        with open(os.path.join(self.rules, "segments.yaml"), "a", encoding="utf-8") as f:
            f.write("\n  - name: broken\n    steps: [{after: soon, channel: pigeon}]\n")
        self.daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload failed" in self.log_text(), 3, "the reload to be refused")
        self.assertIn("segments.yaml:", self.log_text())
        # Still running on the old rules: hank's reminder goes out at 08:20.
        while time.time() < self.started + 1:
            self.touch_feed()
            time.sleep(0.2)
        wait_for(lambda: len(self.http_requests("/im")) == 2, 4, "hank's reminder under the old rules")
        self.assertIsNone(self.daemon.poll())
        self.assertEqual(self.stop_daemon(), 0)


    def test_sighup_with_a_template_failing_the_lint_keeps_the_old_set(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        self.write_feed([order("G1", "gina", home, "2026-11-23 22:00:00"),
                         order("H1", "hank", home, f"{DAY} 07:50:00")])  # im due 08:00 and 08:20
        self.write_config()
        self.start_daemon(f"{DAY} 07:58")
        wait_for(lambda: self.http_requests("/im"), 3, "gina's reminder")
        path = os.path.join(self.templates, "im.yaml")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("default: \"{salutation}您好，这里是{shop}。",
                            "default: \"{salutation}您好，这里是{shop}。这不是我们的问题，可能您忘了吧？亲亲！！", 1)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        self.daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload failed" in self.log_text(), 3, "the reload to be refused by the lint")
        self.assertIn("im.yaml:", self.log_text())
        self.assertIn("这不是我们的问题", self.log_text())
        # Still running on the old templates: hank's reminder goes out at 08:20, worded as before.
        while time.time() < self.started + 1:
            self.touch_feed()
            time.sleep(0.2)
        wait_for(lambda: len(self.http_requests("/im")) == 2, 4, "hank's reminder under the old templates")
        self.assertNotIn("这不是我们的问题", json.dumps(self.http_requests("/im"), ensure_ascii=False))
        self.assertIsNone(self.daemon.poll())
        self.assertEqual(self.stop_daemon(), 0)


class CrashRecovery(DaemonTestCase):
    speed = 300

    def test_kill_9_while_sending_then_restart_gives_no_duplicate_and_no_loss(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        self.write_feed([order("G1", "gina", home, "2026-11-23 22:00:00"),
                         order("K1", "kim", home, "2026-11-23 22:05:00")])
        self.write_config(extra_im="    timeout: 30s")
        # The IM gateway holds the first request: the daemon is killed while it is 'sending'.
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}/_control", data=b'{"stall_next": 1, "stall_seconds": 20}',
            method="POST"))
        self.start_daemon(f"{DAY} 07:58")
        wait_for(lambda: self.http_requests("/im"), 5, "the first request")
        time.sleep(0.3)
        self.daemon.kill()
        self.daemon.wait()
        sending = [r for r in self.outbox() if r["state"] == "sending"]
        self.assertTrue(sending, self.outbox())
        self.start_daemon(f"{DAY} 08:01")
        wait_for(lambda: all(r["state"] == "sent" for r in self.outbox()) and len(self.outbox()) >= 2, 8,
                 "every reminder to be sent after the restart")
        self.assertEqual(self.stop_daemon(), 0)
        keys = self.delivered_keys()
        self.assertEqual(sorted(keys), sorted(set(keys)), "a reminder was accepted twice")
        self.assertEqual(set(keys), {r["idempotency_key"] for r in self.outbox()})
        # The resend of the possibly-sent reminder carried the same key (the gateway dropped it).
        resent = [r for r in self.http_requests("/im") if r["duplicate"]]
        for r in resent:
            self.assertIn(r["key"], {s["idempotency_key"] for s in sending})
        self.assertIn("will be sent again with the same idempotency key", self.log_text())


class QuietHoursAfterAPause(DaemonTestCase):
    speed = 600  # 10 simulated minutes per second

    def test_a_reminder_caught_up_after_a_pause_is_not_sent_in_quiet_hours(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        self.write_feed([order("Q1", "quinn", home, f"{DAY} 21:20:00")])  # im due 21:50
        self.write_config(max_age="10m")
        self.start_daemon(f"{DAY} 21:40")
        wait_for(lambda: [r for r in self.outbox() if r["state"] == "planned"], 3, "quinn's reminder to be planned")
        # No new export: the feed goes stale before 21:50; the slot passes while paused.
        wait_for(lambda: (lambda s: s if s and s[0] == 503 else None)(self.status("/healthz", False)),
                 3, "healthz to report the pause")
        while time.time() < self.started + 3.0:  # 22:10: quiet hours began at 22:00
            time.sleep(0.1)
        self.assertEqual(self.http_requests("/im"), [])
        self.touch_feed()  # fresh again at ~22:10, 20 min after the slot (< the 60 min catch-up limit)
        wait_for(lambda: (self.status("/healthz") or (0,))[0] == 200, 3, "sending to resume")
        time.sleep(0.5)
        self.assertEqual(self.stop_daemon(), 0)
        self.assertEqual(self.http_requests("/im"), [], "sent inside quiet hours")
        rows = [r for r in self.outbox() if r["buyer"] == "quinn"]
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0]["state"], "planned", rows)
        self.assertTrue(rows[0]["send_at"].startswith("2026-11-25 08:00"), rows)
        self.assertIn("quiet hours", self.log_text())


class PaidWhileWaitingForARetry(DaemonTestCase):
    speed = 120  # 2 simulated minutes per second

    def test_a_retry_is_not_sent_for_an_order_paid_meanwhile(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        rita = order("R1", "rita", home, f"{DAY} 07:30:00")  # im due 08:00
        self.write_feed([rita])
        self.write_config(im_backoff=("4s", "4s"))  # the retry comes 2-4 s (real) after the failure
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}/_control",
            data=b'{"fail_next": 1, "fail_status": 503, "fail_path": "/im"}', method="POST"))
        self.start_daemon(f"{DAY} 07:59")
        wait_for(lambda: self.http_requests("/im"), 5, "the first (failing) attempt")
        self.write_feed([dict(rita, status="paid", paid_at=f"{DAY} 08:00:30")])
        time.sleep(5)
        self.assertEqual(self.stop_daemon(), 0)
        self.assertEqual([r["status"] for r in self.http_requests("/im")], [503], "a retry went to a paid order")
        rows = [r for r in self.outbox() if r["buyer"] == "rita"]
        self.assertTrue(rows)
        self.assertTrue(all(r["state"] == "cancelled" for r in rows), rows)
        self.assertIn("paid", rows[0]["last_error"])


class FailedSendIsReplanned(DaemonTestCase):
    speed = 600  # 10 simulated minutes per second

    def test_a_send_failing_longer_than_its_retries_is_replanned_and_delivered_later(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        self.write_feed([order("F1", "fay", home, f"{DAY} 07:30:00")])  # im due 08:00
        self.write_config(extra_im="    max_attempts: 3\n    replan_after: 30m")
        # The IM gateway is down for every attempt the retries make.
        self.control({"fail_next": 3, "fail_status": 503, "fail_path": "/im"})
        self.start_daemon(f"{DAY} 07:59")
        wait_for(lambda: [r for r in self.outbox() if r["state"] == "cancelled"], 10, "the retries to run out")
        row = self.outbox()[0]
        self.assertIn("gave up after 3 attempts", row["last_error"])
        self.assertIn("re-planned into its next allowed slot", row["last_error"])
        key = row["idempotency_key"]
        # Not lost: the planner re-plans it (same key) and it is delivered once the gateway is back.
        wait_for(lambda: [r for r in self.http_requests("/im") if r["key"] == key and r["status"] == 200], 15,
                 "the re-planned reminder to be delivered")
        self.assertEqual(self.stop_daemon(), 0)
        tries = [r["status"] for r in self.http_requests("/im") if r["key"] == key]
        self.assertEqual(tries, [503, 503, 503, 200])
        sent = [r for r in self.outbox() if r["idempotency_key"] == key]
        self.assertEqual(sent[0]["state"], "sent", sent)
        self.assertIn(f"re-planned im step 1 for fay", self.log_text())
        self.assertIn("NOT SENT im to fay", self.log_text())


class ReloadRetiresWorkers(DaemonTestCase):
    speed = 60

    def threads(self):
        return len(os.listdir(f"/proc/{self.daemon.pid}/task"))

    def test_many_sighups_leave_no_worker_threads_behind(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        self.write_feed([order("G1", "gina", home, "2026-11-23 22:00:00")])
        self.write_config()
        self.start_daemon(f"{DAY} 07:58")
        wait_for(lambda: "feed snapshot" in self.log_text(), 5, "the first snapshot")
        time.sleep(0.5)
        before = self.threads()
        reloads = 40
        for i in range(reloads):
            self.daemon.send_signal(signal.SIGHUP)
            wait_for(lambda: self.log_text().count("SIGHUP: reloaded") == i + 1, 5, f"reload {i + 1}")
        wait_for(lambda: self.threads() <= before, 5, "the retired workers' threads to end")
        self.assertIsNone(self.daemon.poll())
        self.assertEqual(self.stop_daemon(), 0)


class TruncatedSnapshot(DaemonTestCase):
    speed = 120  # 2 simulated minutes per second

    def test_an_export_caught_half_written_cancels_nothing_and_healthz_says_why(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        orders = [order(f"T{i}", f"buyer{i}", home, f"{DAY} 07:35:00") for i in range(1, 7)]  # im due 08:05
        self.write_feed(orders)
        self.write_config()
        self.start_daemon(f"{DAY} 07:58")
        wait_for(lambda: len([r for r in self.outbox() if r["state"] == "planned"]) == 6, 5, "six reminders planned")
        # The exporter is caught mid-write: T1 now paid, T2 whole, T3 cut mid-row, T4-T6 not yet written.
        lines = [json.dumps(dict(orders[0], status="paid", paid_at=f"{DAY} 07:59:00"), ensure_ascii=False),
                 json.dumps(orders[1], ensure_ascii=False), json.dumps(orders[2], ensure_ascii=False)[:60]]
        with open(self.feed, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        os.utime(self.feed, (time.time() - 0.4, time.time() - 0.4))

        def suspect():
            s = self.status("/healthz", ok_only=False)
            return s and json.loads(s[1]).get("feed_suspect")
        why = wait_for(suspect, 5, "healthz to say the snapshot is not trusted")
        self.assertIn("cut off", why)
        self.assertFalse(json.loads(self.status("/healthz", ok_only=False)[1])["feed_trusted"])
        # Past the slot: the orders missing from the cut export are still reminded; the paid one is not.
        wait_for(lambda: len(self.http_requests("/im")) >= 5, 8, "the five unpaid buyers' reminders")
        time.sleep(0.5)
        self.assertEqual(self.stop_daemon(), 0)
        reminded = sorted(json.loads(r["body"])["buyer"] for r in self.http_requests("/im"))
        self.assertEqual(reminded, ["buyer2", "buyer3", "buyer4", "buyer5", "buyer6"])
        cancelled = [r for r in self.outbox() if r["state"] == "cancelled"]
        self.assertEqual([r["buyer"] for r in cancelled], ["buyer1"], cancelled)
        self.assertIn("paid", cancelled[0]["last_error"])
        self.assertNotIn("no longer in the feed", json.dumps(self.outbox(), ensure_ascii=False))
        self.assertIn("NOT TRUSTED", self.log_text())


class StalledRequest(DaemonTestCase):
    speed = 60  # 1 simulated minute per second

    def test_a_stalled_request_times_out_and_is_retried_with_the_same_key_without_staying_sending(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        self.write_feed([order("S1", "sue", home, f"{DAY} 07:30:00")])  # im due 08:00
        self.write_config(extra_im="    timeout: 2s")
        hold = 30 * SLOWDOWN
        self.control({"stall_next": 1, "stall_seconds": hold})  # the gateway holds the first request
        self.start_daemon(f"{DAY} 07:59")
        wait_for(lambda: self.http_requests("/im"), 5, "the first request")
        first = time.time()
        wait_for(lambda: [r for r in self.outbox() if r["state"] == "sent"], 8, "the retry to be delivered")
        self.assertLess(time.time() - first, hold, "the row waited for the stalled request")
        self.assertEqual(self.stop_daemon(), 0)
        keys = [r["key"] for r in self.http_requests("/im")]
        self.assertEqual(len(keys), 2, keys)
        self.assertEqual(keys[0], keys[1], "the retry must carry the same idempotency key")
        self.assertIn("no answer after the request was sent", self.log_text())

    def test_a_stalled_request_whose_order_is_then_paid_is_possibly_delivered_not_cancelled(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        sue = order("S1", "sue", home, f"{DAY} 07:30:00")  # im due 08:00
        self.write_feed([sue])
        self.write_config(extra_im="    timeout: 2s", im_backoff=("6s", "6s"))  # the retry 3-6 s after the timeout
        self.control({"stall_next": 1, "stall_seconds": 30 * SLOWDOWN})
        self.start_daemon(f"{DAY} 07:59")
        wait_for(lambda: self.http_requests("/im"), 5, "the first request")
        wait_for(lambda: "no answer after the request was sent" in self.log_text(), 5, "the request to time out")
        self.write_feed([dict(sue, status="paid", paid_at=f"{DAY} 08:03:00")])
        rows = wait_for(lambda: [r for r in self.outbox() if r["state"] not in ("planned", "sending")], 8,
                        "the row to be settled")
        self.assertEqual(self.stop_daemon(), 0)
        self.assertEqual(len(self.http_requests("/im")), 1, "resent to a paid order")
        # The stalled request may well have reached sue (the sink did receive it): never 'cancelled'.
        self.assertEqual(rows[0]["state"], "unknown", rows)
        self.assertIn("possibly delivered", rows[0]["last_error"])


class CatchUpAfterAnOutage(DaemonTestCase):
    def test_reminders_that_fell_due_while_the_daemon_was_down_are_spread_not_sent_at_once(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        self.write_feed([order(f"C{i}", f"buyer{i:02}", home, f"{DAY} 07:30:00") for i in range(12)])  # im due 08:00
        self.write_config(extra="catch_up_spread: 20m")
        self.start_daemon(f"{DAY} 07:50", speed=60)
        wait_for(lambda: len([r for r in self.outbox() if r["state"] == "planned"]) == 12, 5, "twelve reminders")
        self.assertEqual(self.stop_daemon(), 0)
        self.assertEqual(self.http_requests("/im"), [])
        # Down until 08:30: all twelve fell due meanwhile, 30 min ago (catch-up limit 60 min).
        self.write_feed([order(f"C{i}", f"buyer{i:02}", home, f"{DAY} 07:30:00") for i in range(12)])
        self.start_daemon(f"{DAY} 08:30", speed=300)
        wait_for(lambda: len([r for r in self.outbox() if r["state"] == "sent"]) == 12, 12, "all twelve to be sent")
        self.assertEqual(self.stop_daemon(), 0)
        sent = sorted(r["sent_at"] for r in self.outbox())
        self.assertGreaterEqual(sent[0], f"{DAY} 08:30")
        self.assertLessEqual(sent[-1], f"{DAY} 08:59:59", "spread past the catch-up limit")
        minutes = {t[:16] for t in sent}
        self.assertGreaterEqual(len(minutes), 10, f"sent at once: {sent}")
        self.assertGreaterEqual(sent[-1], f"{DAY} 08:45", f"not spread over the catch-up span: {sent}")
        self.assertIn("catching up: 12 reminders fell due", self.log_text())


class StatusAnswersDuringABigReconcile(DaemonTestCase):
    def test_healthz_answers_while_a_large_snapshot_is_planned(self):
        # 150,000 buyers: planning and writing them takes seconds (20,000 took 0.7 s on a quiet
        # machine once the rows were written cheaper, 50,000 0.98 s by 2026-11-27: too quick to show
        # anything); the status server is not on that thread.
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        self.write_feed([order(f"B{i}", f"buyer{i:06}", home, f"{DAY} 07:30:00") for i in range(150000)])
        self.write_config()
        self.start_daemon(f"{DAY} 07:50", speed=60)
        answers, slowest = 0, 0.0
        deadline = time.time() + 300 * SLOWDOWN
        while "reconciled (new feed snapshot)" not in self.log_text():
            self.assertLess(time.time(), deadline, "the first reconcile did not finish")
            started = time.time()
            got = self.status("/healthz", ok_only=False)  # None: no answer within 2 s (x SLOWDOWN)
            took = time.time() - started
            self.assertIsNotNone(got, f"/healthz did not answer within {2 * SLOWDOWN} s ({answers} answers before)")
            answers += 1
            slowest = max(slowest, took)
            time.sleep(0.1)
        took_ms = int(re.search(r"reconciled \(new feed snapshot\) in (\d+) ms", self.log_text()).group(1))
        # Meaningful only when the reconcile outlasted a few polls.
        self.assertGreater(took_ms, 1000, "the reconcile was too quick to show anything")
        self.assertGreaterEqual(answers, 3, f"{answers} answers during a {took_ms} ms reconcile")
        print(f"{answers} /healthz answers during a {took_ms} ms reconcile, slowest {slowest * 1000:.0f} ms",
              file=sys.stderr)
        self.assertEqual(self.stop_daemon(), 0)
        self.assertEqual(len([r for r in self.outbox() if r["buyer"].startswith("buyer")]), 150000)


class StatusAnswersWhileTheLoopIsHeld(DaemonTestCase):
    """The status endpoints answer while the daemon's loop is busy writing a reconcile: held
    there by the test hook CUIFU_TEST_HOLD_RECONCILE (the loop waits while the file exists)."""

    def env(self):
        e = super().env()
        e["CUIFU_TEST_HOLD_RECONCILE"] = self.hold
        return e

    def test_healthz_and_metrics_answer_while_the_loop_is_held_and_optout_after(self):
        self.hold = os.path.join(self.dir, "hold")
        open(self.hold, "w").close()
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        self.write_feed([order(f"H{i}", f"held{i:02}", home, f"{DAY} 07:30:00", phone=f"139{i:08}")
                         for i in range(20)])
        self.write_config()
        self.start_daemon(f"{DAY} 07:50", speed=1)
        wait_for(lambda: "reconcile held on the loop" in self.log_text(), 30 * SLOWDOWN, "the reconcile to be held")
        time.sleep(0.2)
        for _ in range(3):
            got = self.status("/healthz", ok_only=False)
            self.assertIsNotNone(got, "/healthz did not answer while the loop was held")
            health = json.loads(got[1])
            self.assertEqual(health["feed_orders"], 20)
            self.assertEqual(health["outbox_depth"], 0, "nothing is written while the loop is held")
            metrics = self.status("/metrics")
            self.assertIsNotNone(metrics, "/metrics did not answer while the loop was held")
            self.assertIn("cuifu_outbox_depth 0", metrics[1])
        self.assertNotIn("reconciled (new feed snapshot)", self.log_text())
        os.remove(self.hold)
        wait_for(lambda: "reconciled (new feed snapshot)" in self.log_text(), 30 * SLOWDOWN, "the reconcile")
        depth = json.loads(self.status("/healthz", ok_only=False)[1])["outbox_depth"]
        self.assertGreater(depth, 0, "the reconcile planned nothing")
        # /optout is answered by the loop, passed on from the status thread.
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.status_port}/optout", method="POST",
            data=json.dumps({"phone": "13900000003", "text": "退订"}).encode(),
            headers={"Authorization": "Bearer s3cret", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5 * SLOWDOWN) as r:
            self.assertEqual(json.loads(r.read())["opted_out"], True)
        self.assertEqual(self.stop_daemon(), 0)


class ManyRequestsInFlight(DaemonTestCase):
    """On a gateway that drops duplicates by key, up to 64 requests are in flight at once (each
    on its own kept-alive connection), never more: a crash leaves at most that many in doubt."""
    buyers = 80

    def test_a_gateway_holding_its_requests_gets_64_at_once_and_no_more(self):
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        # IM 30 min after the order: every first reminder is due at 10:00, the minute the daemon starts.
        self.write_feed([order(f"M{i}", f"many{i:03}", home, f"{DAY} 09:30:00", phone=f"139{i:08}")
                         for i in range(self.buyers)])
        hold = 20 * SLOWDOWN
        self.write_config(extra_im=f"    timeout: {int(3 * hold)}s")
        with open(self.config, encoding="utf-8") as f:
            text = f.read()
        with open(self.config, "w", encoding="utf-8") as f:  # no rate limit in the way
            f.write(text.replace("rate_per_second: 50\n    burst: 20\n    backoff", "rate_per_second: 100000\n"
                                 "    burst: 100000\n    backoff", 1))
        self.control({"stall_next": 64, "stall_seconds": hold})  # no answer for `hold` seconds
        self.start_daemon(f"{DAY} 10:00:00", speed=1)
        started = time.time()
        # 16 in flight (the limit before) would wait here until the first answers came back.
        wait_for(lambda: len(self.http_requests("/im")) >= 64, hold / 2, "64 requests in flight at once")
        time.sleep(1)
        self.assertLess(time.time() - started, hold, "a stalled request was answered: this proves nothing")
        self.assertEqual(len(self.http_requests("/im")), 64, "more requests out at once than may be in doubt")
        self.assertEqual(len([r for r in self.outbox() if r["state"] == "sending"]), 64)
        wait_for(lambda: len([r for r in self.outbox() if r["state"] == "sent"]) == self.buyers, 3 * hold,
                 "every reminder to be sent")
        self.assertEqual(self.stop_daemon(), 0)
        keys = [r["key"] for r in self.http_requests("/im")]
        self.assertEqual(len(keys), self.buyers, "a reminder went twice")


class SendBurst(DaemonTestCase):
    """Many reminders due at once, several requests in flight on kept-alive connections, claims
    and outcomes committed in groups: the daemon is killed the instant the gateway receives a
    request (three times, mid-burst), restarted, and finishes."""
    buyers = 1500
    kill_every = 400  # the sink kills the daemon on receiving requests 400, 800 and 1200

    def start_fast_sink(self):
        """cuifu_sink (built with cuifu), killing the daemon whose pid is in daemon.pid."""
        self.fast_log = os.path.join(self.dir, "fast_sink.log")
        port_file = os.path.join(self.dir, "fast_sink.port")
        self.pid_file = os.path.join(self.dir, "daemon.pid")
        sink = os.path.join(os.path.dirname(CUIFU), "cuifu_sink")
        self.procs.append(subprocess.Popen([sink, "--log", self.fast_log, "--port-file", port_file, "--kill-every",
                                            str(self.kill_every), "--kill-pid-file", self.pid_file]))
        wait_for(lambda: os.path.exists(port_file), 10, "cuifu_sink to listen")
        with open(port_file) as f:
            self.fast_port = int(f.read())

    def sink_records(self):
        """The keys of every request the sink received so far, in order (a resend twice)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.fast_port}/_flush", timeout=10) as r:
            r.read()
        with open(self.fast_log) as f:
            return [p[1] for p in (line.split() for line in f) if len(p) == 3]

    def rows(self):
        import sqlite3
        db = sqlite3.connect(self.state, timeout=10)
        try:
            return {key: state for key, state in db.execute("SELECT idempotency_key, state FROM outbox WHERE step = 1")}
        finally:
            db.close()

    def start_and_get_killed(self, at):
        self.start_daemon(at, speed=1)
        with open(self.pid_file + ".tmp", "w") as f:
            f.write(str(self.daemon.pid))
        os.replace(self.pid_file + ".tmp", self.pid_file)
        self.assertEqual(self.daemon.wait(timeout=60 * SLOWDOWN), -signal.SIGKILL, "not killed by the sink")

    def test_kills_in_the_middle_of_a_burst_lose_nothing_and_duplicate_only_what_was_in_flight(self):
        self.start_fast_sink()
        home = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"
        # IM 30 min after the order: every first reminder is due at 10:00, the minute the daemon starts.
        self.write_feed([order(f"S{i}", f"burst{i:05}", home, f"{DAY} 09:30:00", phone=f"139{i:08}")
                         for i in range(self.buyers)])
        self.status_port = self.free_port()
        self.config = os.path.join(self.dir, "cuifu.yaml")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(f"""
feed:
  source: orders.jsonl
  poll_interval: 1m
  max_age: 1d
rules: rules
templates: templates
state: state.db
status:
  listen: 127.0.0.1:{self.status_port}
channels:
  im:
    webhook: http://127.0.0.1:{self.fast_port}/im
    rate_per_second: 1000000
    burst: 100000
""")
        in_doubt = []  # rows left 'sending' by each kill
        # Restarted within the minute: the rows due at 10:00 are on time, not a backlog to spread.
        for k, at in enumerate(["10:00:00", "10:00:15", "10:00:30"]):
            self.start_and_get_killed(f"{DAY} {at}")
            rows, received = self.rows(), set(self.sink_records())
            self.assertEqual(len(rows), self.buyers)
            self.assertLess(len(received), self.buyers, "the burst was over before the kill: it proves nothing")
            # Claimed durably before the request left: a key the gateway got is never 'planned'.
            early = sorted(key for key in received if rows.get(key) not in ("sending", "sent"))
            self.assertEqual(early, [], f"kill {k + 1}: requests left before their claim was committed")
            # Recorded after the answer: a row marked sent reached the gateway.
            unsent = sorted(key for key, st in rows.items() if st == "sent" and key not in received)
            self.assertEqual(unsent, [], f"kill {k + 1}: rows marked sent that never reached the gateway")
            doubt = {key for key, st in rows.items() if st == "sending"}
            # The requests in flight (64 workers) and answers not yet committed, no more.
            self.assertLessEqual(len(doubt), 2 * 64, f"kill {k + 1}: {len(doubt)} rows left 'sending'")
            in_doubt.append(doubt)

        self.start_daemon(f"{DAY} 10:00:40", speed=1)
        wait_for(lambda: all(st == "sent" for st in self.rows().values()), 60, "every reminder to be sent")
        self.assertEqual(self.stop_daemon(), 0)
        copies = {}
        for key in self.sink_records():
            copies[key] = copies.get(key, 0) + 1
        self.assertEqual(set(copies), set(self.rows()), "a reminder never reached the gateway")
        # Only rows in doubt at a kill went again (with the same key: the gateway drops the copy).
        for key, n in copies.items():
            self.assertLessEqual(n, 1 + sum(key in d for d in in_doubt), key)


if __name__ == "__main__":
    CUIFU = os.path.abspath(sys.argv[1])
    SOURCE = os.path.abspath(sys.argv[2])
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
