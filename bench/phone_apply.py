"""`make bench-phone`: the lead applicant's whole task on a throttled phone, measured.

A fresh SQLite instance with the demo data is served from a code directory (default: this
checkout; `--code /tmp/before` serves another copy with this Python), or `--base-url` points at
a server that is already running with the demo data. Chromium (Debian's, driven by Playwright)
opens a 400×800 page in Kazakh over a link emulated with the DevTools protocol: 256 kbit/s
down, 128 kbit/s up, 800 ms latency (kbit = 1000 bits), for the page and for any service
worker (each target has its own emulated link: a worker's background copies do not slow the
page's loads as they would on one real link). The demo lead `lead1@demo.kz` (kk; leads consortia with
a confirmed partner; no draft on the open call) logs in, opens the open call SG-2027-1,
applies with its consortium, fills the eight sections (three rows each of workplan, budget
and indicators, always through the visible "Add a row" button), attaches a small PDF, checks,
submits and reads the receipt number.

Before every click the script pauses like a person who stops typing: it waits a moment
(`--settle`, longer than autosave's delay) and then until no request is in flight, so the
page's own autosave has finished. The pauses are counted apart from the waiting after clicks.

Measured: page loads (documents that reached their load event; cross-checked with the main
frame's committed navigations and the HTTP document responses, redirects included), network
wait (sum over page loads of responseEnd − startTime, Navigation Timing: redirect, request and
response), time to the load event (the same sum to loadEventEnd), the waiting after clicks
(click → no request in flight), wall time, and bytes received over the link (DevTools
encodedDataLength of the page's requests not answered by a service worker, plus the worker's
own requests). The Flask server runs without the Celery worker: queued tasks wait.

Writes the figures under `--label` (default "current") into `--out` (bench/results-phone.json),
keeping the other labels, so "before" and "current" sit side by side."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("GRANTS_TEST_CHROMIUM", "/usr/bin/chromium")
SECTIONS = ["summary", "problem", "workplan", "budget", "indicators", "partners", "attachments", "declarations"]

# What the lead types (Kazakh). The budget totals the requested amount (3 500 000 ₸).
TEXT = {
    "title": "Арал ауылдарындағы қалдықтарды бөлек жинау",
    "summary": "Арал ауданының бес ауылында пластик пен шыныны бөлек жинау жүйесін құрамыз: еріктілерді "
    "оқытамыз, жинау пункттерін ашамыз және әкімдікпен қалдықты шығару туралы келісім жасаймыз.",
    "requested_amount": "3500000",
    "problem": "Ауылдарда тұрмыстық қалдықтарды аулада өртейді, ең жақын полигон 60 шақырым жерде. Түтін "
    "балалар мен қарттардың денсаулығына зиян, ал көл жағасы пластикке толы.",
    "objectives": "10-айға дейін бес ауыл пластик пен шыныны сұрыптайды; үй шаруашылықтарының 60 пайызы "
    "қатысады; жылына 40 тонна қалдық қайта өңдеуге жіберіледі.",
    "activities": "Еріктілерді оқыту; әр ауылда жинау пункттерін ашу; мектептерде сабақтар өткізу; әкімдікпен "
    "және қайта өңдеу кәсіпорнымен шарт жасасу.",
    "partner_role": "Еріктілерді оқытады, мектептерде экологиялық сабақтар өткізеді және жастармен жұмыс істейді.",
}
WORKPLAN = [("Еріктілерді оқыту", "1", "2"), ("Бес ауылда жинау пункттерін ашу", "2", "4"),
            ("Мектептерде экологиялық сабақтар", "3", "10")]  # fmt: skip
# (organization option index: 0 the lead, 1 the partner; category; what for; quantity; unit cost)
BUDGET = [(0, "equipment", "Қалдыққа арналған контейнерлер", "20", "75000"),
          (1, "events", "Еріктілерге арналған тренингтер", "6", "250000"),
          (0, "supplies", "Ақпараттық парақшалар мен плакаттар", "1000", "500")]  # fmt: skip
INDICATORS = [("Қалдықты сұрыптайтын үй шаруашылықтары", "үй", "0", "300"), ("Оқытылған еріктілер", "адам", "0", "40"),
              ("Қайта өңдеуге жіберілген қалдық", "тонна", "0", "40")]  # fmt: skip
ROWS = {
    "workplan": ("workplan", ["activity", "start_month", "end_month"], WORKPLAN),
    "budget": ("budget_lines", ["organization_id", "category", "description", "quantity", "unit_cost"], BUDGET),
    "indicators": ("indicators", ["name", "unit", "baseline", "target"], INDICATORS),
}
# Buttons that save and open the next section, if the page has one ("Save and continue").
CONTINUE = ("button[type=submit][name=next]:visible, button[name=action][value=save_next]:visible, "
            "button[name=action][value=next]:visible, button[name=action][value=continue]:visible, "
            "button[name=action][value=save_continue]:visible, button[name=action][value=save_and_continue]:visible")  # fmt: skip

# Every document's Navigation Timing, sent to Python once its load event has run.
TIMING_SCRIPT = """
if (window === window.top) addEventListener("load", () => setTimeout(() => {
  const e = performance.getEntriesByType("navigation")[0];
  window.__benchNav(JSON.stringify({origin: performance.timeOrigin, url: location.href,
    entry: e ? e.toJSON() : null}));
}, 0));
"""


def small_pdf() -> bytes:
    """A real one-page PDF (about 600 bytes) with a correct cross-reference table."""
    text = b"BT /F1 14 Tf 72 760 Td (Charter of the public fund, 2019) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# --- the server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def describe_code(code: Path, env: dict) -> dict:
    """Which code is served: its commit, whether it has changes, and the imported package."""
    grants_file = subprocess.run([sys.executable, "-c", "import grants; print(grants.__file__)"], cwd=code, env=env,
                                 capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    git = ["git", "-C", str(code)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    status = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    return {"dir": str(code), "commit": commit or None, "changed_files": len(status.stdout.splitlines()),
            "grants_file": grants_file}  # fmt: skip


def start_server(code: Path, log_path: Path) -> tuple[subprocess.Popen, str, dict]:
    """`make run`'s steps on a fresh instance folder: migrate, seed the demo, serve (no worker)."""
    instance = Path(tempfile.mkdtemp(prefix="grants-phone-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRANTS_DATABASE_URL", "GRANTS_REDIS_URL"))}
    env |= {"GRANTS_INSTANCE_DIR": str(instance), "PORT": str(port), "GRANTS_BASE_URL": base,
            "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
    served = describe_code(code, env)
    if not Path(served["grants_file"]).resolve().is_relative_to(code.resolve()):
        sys.exit(f"`import grants` in {code} loads {served['grants_file']}, not the code asked for")
    print(f"serving {served['grants_file']} (commit {served['commit']}, {served['changed_files']} changed files)")
    translations = code / "translations"
    if any(not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
           for po in translations.glob("*/LC_MESSAGES/messages.po")):  # fmt: skip
        pybabel = Path(sys.executable).with_name("pybabel")
        subprocess.run([str(pybabel), "-q", "compile", "-d", str(translations)], check=True)
    flask = [sys.executable, "-m", "flask", "--app", "grants"]
    started = time.monotonic()
    log = log_path.open("w")
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run(flask + command, cwd=code, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    seeded = time.monotonic() - started
    server = subprocess.Popen(flask + ["run", "--host", "127.0.0.1", "--port", str(port)], cwd=code, env=env,
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/calls", timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"the server did not answer; see {log_path}")
        time.sleep(0.3)
    served |= {"instance": str(instance), "migrate_and_seed_s": round(seeded, 1)}
    return server, base, served


# --- the browser ----------------------------------------------------------------------------


class Phone:
    """One throttled phone page with counters, and actions that wait like a person."""

    def __init__(self, browser, context, args):
        self.args = args
        self.page = page = context.new_page()
        self.loads: list[dict] = []  # Navigation Timing of every document that reached "load"
        self.committed = 0  # main-frame cross-document navigations (DevTools Page.frameNavigated)
        self.documents: list[dict] = []  # HTTP responses for the main frame's documents (302 too)
        self.inflight: dict[str, float] = {}
        # bytes over the link (page's and service worker's own requests), and answered by the worker
        self.received = {"documents": 0, "other": 0, "service_worker": 0, "answered_by_worker": 0}
        self.by_worker: set[str] = set()
        self.requests = {"documents": 0, "other": 0, "service_worker": 0}
        self.kinds: dict[str, str] = {}
        self.others: dict[str, dict] = {}  # other requests by method and path: count, statuses
        self.paths: dict[str, str] = {}
        self.autosaves = 0
        self.from_service_worker = 0
        self.last_busy = time.monotonic()
        page.expose_binding("__benchNav", lambda _source, data: self.loads.append(json.loads(data)))
        page.add_init_script(TIMING_SCRIPT)
        page.on("response", self._response)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Page.enable")
        self.conditions = {"offline": False, "latency": args.latency,
                           "downloadThroughput": args.down * 1000 / 8, "uploadThroughput": args.up * 1000 / 8}  # fmt: skip
        cdp.send("Network.emulateNetworkConditions", self.conditions)
        # A service worker is a target of its own: its fetches (pages it fetches for the page, its
        # copies) get the same link, through a session of the browser's (DevTools does the same).
        self.workers: list[str] = []
        self.throttled: set[str] = set()
        self.browser_cdp = browser.new_browser_cdp_session()
        self.browser_cdp.on("Target.targetCreated", self._target)
        self.browser_cdp.on("Target.receivedMessageFromTarget", self._worker_message)
        self.browser_cdp.send("Target.setDiscoverTargets", {"discover": True})
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.loadingFailed", lambda e: self._done(e["requestId"]))
        cdp.on("Page.frameNavigated", self._navigated)

    # service workers
    def _target(self, event):
        info = event["targetInfo"]
        if info["type"] in ("service_worker", "shared_worker") and info["targetId"] not in self.throttled:
            self.workers.append(info["targetId"])

    def throttle_workers(self):
        while self.workers:
            target = self.workers.pop()
            self.throttled.add(target)
            try:
                session = self.browser_cdp.send("Target.attachToTarget", {"targetId": target, "flatten": False})
            except Exception:  # noqa: BLE001  (the worker has stopped meanwhile)
                continue
            for number, (method, params) in enumerate(
                [("Network.enable", {}), ("Network.emulateNetworkConditions", self.conditions)], 1
            ):
                message = json.dumps({"id": number, "method": method, "params": params})
                self.browser_cdp.send(
                    "Target.sendMessageToTarget", {"sessionId": session["sessionId"], "message": message}
                )

    def _worker_message(self, event):
        message = json.loads(event["message"])
        if message.get("method") == "Network.requestWillBeSent":
            self.requests["service_worker"] += 1
        elif message.get("method") == "Network.loadingFinished":
            self.received["service_worker"] += int(message["params"].get("encodedDataLength", 0))

    # events
    def _sent(self, event):
        rid = event["requestId"]
        kind = "documents" if event.get("type") == "Document" else "other"
        if rid not in self.inflight:
            self.requests[kind] += 1
        if kind == "other":
            path = event["request"]["method"] + " " + urllib.parse.urlsplit(event["request"]["url"]).path
            self.paths[rid] = path
            self.others.setdefault(path, {"count": 0, "statuses": {}})["count"] += 1
        self.kinds[rid] = kind
        if kind == "other" and event["request"].get("headers", {}).get("X-Autosave") == "1":
            self.autosaves += 1
        # What a person waits for: not the tab's icon (fetched after the page) nor a live stream.
        path = urllib.parse.urlsplit(event["request"]["url"]).path
        if event.get("type") not in ("EventSource", "WebSocket") and path != "/favicon.ico":
            self.inflight[rid] = time.monotonic()

    def _received(self, event):
        if event["response"].get("fromServiceWorker"):
            self.by_worker.add(event["requestId"])
        path = self.paths.get(event["requestId"])
        if path:
            statuses = self.others[path]["statuses"]
            status = str(event["response"]["status"])
            statuses[status] = statuses.get(status, 0) + 1

    def _finished(self, event):
        rid = event["requestId"]
        bucket = "answered_by_worker" if rid in self.by_worker else self.kinds.get(rid, "other")
        self.received[bucket] += int(event.get("encodedDataLength", 0))
        self._done(event["requestId"])

    def _done(self, rid):
        self.inflight.pop(rid, None)
        self.last_busy = time.monotonic()

    def _navigated(self, event):
        if not event["frame"].get("parentId"):
            self.committed += 1

    def _response(self, response):
        if response.request.resource_type == "document" and response.frame == self.page.main_frame:
            self.documents.append({"status": response.status, "method": response.request.method, "url": response.url})
        if response.from_service_worker:
            self.from_service_worker += 1

    # waiting
    def counts(self) -> tuple[int, int]:
        return len(self.loads), self.committed

    def quiet_since(self, started: float, before: tuple[int, int], *, want_loads: int = 0, timeout: float = 120):
        """Wait until every document committed since `before` (counts()) has loaded (at least
        `want_loads` new ones) and no request has been in flight for `--quiet` seconds; return
        when it went quiet."""
        quiet = self.args.quiet
        loads_before, committed_before = before
        while True:
            self.page.wait_for_timeout(50)
            self.throttle_workers()
            now = time.monotonic()
            new_commits = self.committed - committed_before
            loaded = len(self.loads) - loads_before >= max(want_loads, new_commits)
            if loaded and not self.inflight and now - max(self.last_busy, started) >= quiet:
                try:
                    ready = self.page.evaluate("document.readyState") == "complete"
                except Exception:  # noqa: BLE001  (a navigation replaced the page meanwhile)
                    ready = False
                if ready:
                    return max(self.last_busy, started)
            if now - started > timeout:
                raise TimeoutError(
                    f"page not quiet after {timeout} s at {self.page.url}: {len(self.inflight)} requests in flight, "
                    f"{new_commits} documents committed, {len(self.loads) - loads_before} loaded (wanted {want_loads})"
                )

    def settle(self) -> float:
        """The pause of a person who has just stopped typing: autosave's delay, then its request."""
        started, before = time.monotonic(), self.counts()
        self.page.wait_for_timeout(self.args.settle * 1000)
        self.quiet_since(started, before)
        return time.monotonic() - started


def visible(page, selector: str):
    return page.locator(f"{selector} >> visible=true")


def run_scenario(phone: Phone, base: str, args) -> dict:
    page = phone.page
    steps: list[dict] = []
    pauses = 0.0
    conflicts = 0
    add_rows = 0

    def act(name: str, do, *, expect_load: bool = True, pause: bool = True):
        nonlocal pauses
        if pause:
            pauses += phone.settle()
        (loads, committed), documents = phone.counts(), len(phone.documents)
        started = time.monotonic()
        do()
        ended = phone.quiet_since(started, (loads, committed), want_loads=1 if expect_load else 0)
        step = {"step": name, "wait_s": round(ended - started, 2), "page_loads": len(phone.loads) - loads,
                "committed": phone.committed - committed,
                "statuses": [d["status"] for d in phone.documents[documents:]], "url": page.url.removeprefix(base)}  # fmt: skip
        steps.append(step)
        print(f"  {name:<34} {step['wait_s']:6.2f} s  loads {step['page_loads']}  {step['statuses']}  {step['url']}")
        return step

    def failed_if_refused(step: dict):
        if step["statuses"] and step["statuses"][-1] >= 400 and step["statuses"][-1] != 409:
            problems = page.locator(".errors li, .alert, .flash").all_inner_texts()
            raise RuntimeError(f"{step['step']} answered {step['statuses'][-1]}: {problems}")

    def fill(name: str, value: str):
        visible(page, f'[name="{name}"]').first.fill(value)

    def save(section: str, following: str | None):
        """Save (or "Save and continue"), once more after a conflict page; then open the next section."""
        nonlocal conflicts
        continuing = None if args.no_continue or following is None else visible(page, CONTINUE)
        button = continuing.first if continuing is not None and continuing.count() else None
        for _attempt in range(3):
            target = button or visible(page, ".savebar button[value=save]").first
            step = act(f"{section}: {'save and continue' if button else 'save'}", target.click)
            failed_if_refused(step)
            if 409 not in step["statuses"][-1:]:
                break
            conflicts += 1
            button = None  # the conflict page shows our text with the current version: save it again
        else:
            raise RuntimeError(f"{section}: still a conflict after 3 saves")
        if following:
            open_section(following)

    def open_section(key: str):
        if page.url.rstrip("/").endswith(f"/edit/{key}" if key != "check" else "/check"):
            return
        suffix = f"/edit/{key}" if key != "check" else "/check"
        link = visible(page, f'a[href$="{suffix}"]')
        if link.count():
            act(f"open {key}", link.first.click, pause=False)
        else:  # the menu is folded away: follow its address as a person would after unfolding it
            href = page.locator(f'a[href$="{suffix}"]').first.get_attribute("href")
            act(f"open {key}", lambda: page.goto(base + href if href.startswith("/") else href, wait_until="commit"),
                pause=False)  # fmt: skip

    def rows(section: str):
        nonlocal add_rows
        prefix, fields, values = ROWS[section]
        for k, row in enumerate(values):
            first = visible(page, f'[name^="{prefix}-"][name$="-{fields[0]}"]')
            if first.count() <= k:
                before = first.count()
                act(f"{section}: add a row", visible(page, "button[name=action][value=add_row]").first.click,
                    expect_load=False)  # fmt: skip
                add_rows += 1
                for _poll in range(100):
                    if first.count() > before:
                        break
                    page.wait_for_timeout(50)
                else:
                    raise RuntimeError(f"{section}: 'Add a row' added no row")
            for field, value in zip(fields, row, strict=True):
                box = visible(page, f'[name^="{prefix}-"][name$="-{field}"]').nth(k)
                if box.evaluate("e => e.tagName") == "SELECT":
                    if isinstance(value, int):
                        box.select_option(index=value)
                    else:
                        box.select_option(value=value)
                else:
                    box.fill(value)

    started = time.monotonic()
    act("open the login page", lambda: page.goto(base + "/login", wait_until="commit"), pause=False)
    fill("email", args.user)
    fill("password", args.password)
    act("log in", visible(page, "main form button[type=submit]").first.click)
    act("open the calls", visible(page, 'a[href="/calls"]').first.click, pause=False)
    act("open the call", visible(page, f'main li:has-text("{args.call}") a[href^="/calls/"]').first.click, pause=False)
    act("apply", visible(page, 'a[href$="/apply"]').first.click, pause=False)
    visible(page, "input[name=consortium_id]").first.check()
    failed_if_refused(act("start the application", visible(page, "main form button[type=submit]").first.click))

    for index, section in enumerate(SECTIONS):
        following = SECTIONS[index + 1] if index + 1 < len(SECTIONS) else "check"
        open_section(section)
        if section == "summary":
            for name in ("title", "summary", "requested_amount"):
                fill(name, TEXT[name])
        elif section == "problem":
            fill("problem", TEXT["problem"])
            fill("objectives", TEXT["objectives"])
        elif section in ROWS:
            if section == "workplan":
                fill("activities", TEXT["activities"])
            rows(section)
        elif section == "partners":
            boxes = visible(page, 'textarea[name^="partner_roles-"]')
            for n in range(boxes.count()):
                boxes.nth(n).fill(TEXT["partner_role"])
        elif section == "attachments":
            kinds = visible(page, "select[name=kind]")
            if kinds.count():
                kinds.first.select_option("charter")
            page.locator("input[type=file][name=file]").first.set_input_files(
                files=[{"name": "Жарғы.pdf", "mimeType": "application/pdf", "buffer": small_pdf()}]
            )
            failed_if_refused(act("attachments: upload a PDF",
                                  visible(page, "form:has(input[type=file]) button[type=submit]").first.click))  # fmt: skip
            open_section(following)
            continue
        elif section == "declarations":
            boxes = visible(page, 'input[type=checkbox][name^="declarations-"]')
            for n in range(boxes.count()):
                boxes.nth(n).check()
        save(section, following)

    failed_if_refused(act("submit", visible(page, "main form[method=post] button[type=submit]").first.click))
    body = page.locator("main").inner_text()
    receipt = re.search(re.escape(args.call) + r"-\d{3,}", body)
    if not receipt:
        raise RuntimeError(f"no receipt number on {page.url}: {body[:500]}")
    wall = time.monotonic() - started
    return {"steps": steps, "wall_s": wall, "pauses_s": pauses, "conflicts": conflicts, "add_row_clicks": add_rows,
            "receipt": receipt.group(0)}  # fmt: skip


def measure(base: str, args) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=args.chromium, headless=not args.headed,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        context = browser.new_context(viewport={"width": 400, "height": 800}, locale="kk", is_mobile=False,
                                      extra_http_headers={"Accept-Language": "kk"})  # fmt: skip
        phone = Phone(browser, context, args)
        try:
            result = run_scenario(phone, base, args)
        except Exception:
            shot = Path(tempfile.gettempdir()) / "phone_apply-failure.png"
            phone.page.screenshot(path=str(shot), full_page=True)
            print(f"failed at {phone.page.url}; screenshot {shot}", file=sys.stderr)
            raise
        finally:
            context.close()
            browser.close()
    navigations = []
    for load in phone.loads:
        entry = load["entry"] or {}
        navigations.append({
            "url": load["url"].removeprefix(base), "redirected": entry.get("redirectCount", 0),
            "response_end_s": round(entry.get("responseEnd", 0) / 1000, 3),
            "load_end_s": round(entry.get("loadEventEnd", 0) / 1000, 3),
            "transfer_bytes": entry.get("transferSize", 0),
        })  # fmt: skip
    add_row_loads = sum(s["page_loads"] for s in result["steps"] if s["step"].endswith("add a row"))
    totals = {
        "page_loads": len(phone.loads),
        "committed_navigations": phone.committed,
        "document_responses": len(phone.documents),
        "network_wait_s": round(sum(n["response_end_s"] for n in navigations), 1),
        "to_load_event_s": round(sum(n["load_end_s"] for n in navigations), 1),
        "wait_after_clicks_s": round(sum(s["wait_s"] for s in result["steps"]), 1),
        "wall_s": round(result["wall_s"], 1),
        "pauses_s": round(result["pauses_s"], 1),
        "wall_without_pauses_s": round(result["wall_s"] - result["pauses_s"], 1),
        "kb_received": round((sum(phone.received.values()) - phone.received["answered_by_worker"]) / 1024, 1),
        "kb_received_documents": round(phone.received["documents"] / 1024, 1),
        "kb_received_by_service_worker": round(phone.received["service_worker"] / 1024, 1),
        "service_worker_requests": phone.requests["service_worker"],
        "largest_page_kb": round(max((n["transfer_bytes"] for n in navigations), default=0) / 1024, 1),
        "requests": phone.requests["documents"] + phone.requests["other"],
        "document_requests": phone.requests["documents"],
        "autosave_requests": phone.autosaves,
        "served_by_service_worker": phone.from_service_worker,
        "add_row_clicks": result["add_row_clicks"],
        "add_row_page_loads": add_row_loads,
        "conflicts": result["conflicts"],
    }
    return {
        "totals": totals,
        "receipt": result["receipt"],
        "steps": result["steps"],
        "navigations": navigations,
        "other_requests": phone.others,
    }


def report(label: str, result: dict) -> None:
    t = result["totals"]
    rows = [
        ("page loads (documents loaded)", f"{t['page_loads']}  (redirects incl.: {t['document_responses']} "
                                          f"document responses; {t['add_row_page_loads']} for 'Add a row')"),
        ("network wait, Σ responseEnd", f"{t['network_wait_s']} s"),
        ("to load event, Σ loadEventEnd", f"{t['to_load_event_s']} s"),
        ("waiting after clicks", f"{t['wait_after_clicks_s']} s"),
        ("wall time (pauses)", f"{t['wall_s']} s ({t['pauses_s']} s pauses before clicks; "
                               f"{t['wall_without_pauses_s']} s without)"),
        ("received over the link", f"{t['kb_received']} KB ({t['kb_received_documents']} KB documents, "
                                   f"{t['kb_received_by_service_worker']} KB by a service worker; "
                                   f"largest page {t['largest_page_kb']} KB)"),
        ("requests", f"{t['requests']} ({t['autosave_requests']} autosaves, "
                     f"{t['served_by_service_worker']} answered by a service worker)"),
        ("service worker's own requests", str(t["service_worker_requests"])),
        ("false or real conflicts (409)", str(t["conflicts"])),
        ("receipt", result["receipt"]),
    ]  # fmt: skip
    print(f"\n{label}: the lead's application on a throttled phone")
    for name, value in rows:
        print(f"  {name:<32} {value}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="measure a running server (with the demo data) instead of starting one")
    parser.add_argument("--code", type=Path, default=ROOT, help="code folder to serve (default: this checkout)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results-phone.json")
    parser.add_argument("--label", default="current", help="name of this measurement in --out (e.g. before)")
    parser.add_argument("--user", default="lead1@demo.kz")
    parser.add_argument("--password", default="demo-grants-2026")
    parser.add_argument("--call", default="SG-2027-1", help="code of the open call")
    parser.add_argument("--down", type=float, default=256, help="kbit/s")
    parser.add_argument("--up", type=float, default=128, help="kbit/s")
    parser.add_argument("--latency", type=float, default=800, help="ms")
    parser.add_argument("--settle", type=float, default=1.5, help="pause (s) after typing, before a click")
    parser.add_argument("--quiet", type=float, default=0.4, help="s without requests that count as done")
    parser.add_argument("--no-continue", action="store_true", help="never use a 'Save and continue' button")
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--headed", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the instance folder")
    args = parser.parse_args()

    server = None
    served: dict = {"base_url": args.base_url}
    if not args.base_url:
        log_path = Path(tempfile.gettempdir()) / f"phone_apply-server-{os.getpid()}.log"
        server, base, served = start_server(args.code.resolve(), log_path)
        print(
            f"demo instance migrated and seeded in {served['migrate_and_seed_s']} s; server at {base} (log {log_path})"
        )
    else:
        base = args.base_url.rstrip("/")
    try:
        result = measure(base, args)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
            if not args.keep:
                shutil.rmtree(served["instance"], ignore_errors=True)
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": served,
        "profile": {"viewport": "400x800", "locale": "kk", "down_kbit_s": args.down, "up_kbit_s": args.up,
                    "latency_ms": args.latency, "kbit": 1000, "settle_s": args.settle, "user": args.user,
                    "call": args.call, "worker": "none (tasks wait in the broker)" if server else "as served"},
    } | result  # fmt: skip
    report(args.label, result)
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    previous[args.label] = result
    args.out.write_text(json.dumps(previous, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {args.out} under {args.label!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
