"""
tests/integration/fx_browser.py — a real headless Chromium driven through
chromedriver's W3C WebDriver HTTP protocol with urllib (no selenium).

    b = Browser(env.tmpdir)
    b.get(url); b.wait_text("#count-CRITICAL", "1"); b.click(".ack")
    b.screenshot(path)

Everything it starts (chromedriver, and through it chromium, with its own
profile under tmpdir) is registered with harness for teardown.
"""
import base64
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import harness

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class WebDriverError(AssertionError):
    pass


class Browser:
    def __init__(self, tmpdir, width=1280, height=1000):
        for p in (CHROMEDRIVER, CHROMIUM):
            if not os.access(p, os.X_OK):
                raise harness.Skip("%s not installed" % p)
        self.dir = os.path.join(os.path.abspath(tmpdir), "browser")
        os.makedirs(self.dir, exist_ok=True)
        self.port = harness.free_port()
        self.session = None
        self._log = open(os.path.join(self.dir, "chromedriver.log"), "ab")
        self.proc = subprocess.Popen(
            [CHROMEDRIVER, "--port=%d" % self.port],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        harness.register(self)
        harness.wait_for(self._ready, 20, "chromedriver to answer")
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage",
                         "--no-first-run", "--disable-extensions",
                         "--window-size=%d,%d" % (width, height),
                         "--user-data-dir=" + os.path.join(self.dir,
                                                           "profile")]},
        }}}
        v = self._call("POST", "/session", caps, timeout=60)
        self.session = v["sessionId"]

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("chromedriver exited with %d" %
                                 self.proc.returncode)
        try:
            return self._call("GET", "/status", timeout=2).get("ready")
        except (OSError, WebDriverError):
            return False

    def _call(self, method, path, body=None, timeout=30):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (self.port, path), data=data,
            method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                doc = json.loads(r.read())
        except urllib.error.HTTPError as e:
            try:
                doc = json.loads(e.read())
            except ValueError:
                doc = {}
            raise WebDriverError("WebDriver %s %s: HTTP %d: %s" % (
                method, path, e.code, doc.get("value", doc))) from None
        return doc.get("value", doc)

    def _s(self, path, body=None, method=None):
        return self._call(method or ("GET" if body is None else "POST"),
                          "/session/%s%s" % (self.session, path), body)

    # -- what a test uses --

    def get(self, url):
        self._s("/url", {"url": url})

    def execute(self, script, *args):
        return self._s("/execute/sync", {"script": script,
                                         "args": list(args)})

    def find_all(self, css):
        return [e[ELEMENT] for e in self._s(
            "/elements", {"using": "css selector", "value": css})]

    def _on_first(self, css, action, body=None, missing=None):
        """action on the first element matching css.  The dashboard
        redraws itself every few seconds, so an element found a moment
        ago may be gone: find it again (a few times, bounded)."""
        for attempt in range(5):
            els = self.find_all(css)
            if not els:
                if missing is not None:
                    return missing()
                raise AssertionError("nothing matches %s" % css)
            try:
                return self._s("/element/%s/%s" % (els[0], action), body)
            except WebDriverError as e:
                if "stale element" not in str(e) or attempt == 4:
                    raise
                time.sleep(0.1)

    def text(self, css):
        """The text of the first element matching css, or None."""
        return self._on_first(css, "text", missing=lambda: None)

    def wait_text(self, css, want, timeout=20):
        """Waits until css's text equals want (or want(text) is true)."""
        def ok():
            t = self.text(css)
            return t if (want(t) if callable(want) else t == want) else None
        return harness.wait_for(ok, timeout, "%s to show %r" % (css, want),
                                interval=0.2)

    def click(self, css):
        self._on_first(css, "click", {})

    def type(self, css, text):
        self._on_first(css, "value", {"text": text})

    def screenshot(self, path):
        png = base64.b64decode(self._s("/screenshot"))
        with open(path, "wb") as f:
            f.write(png)
        return path

    def console_errors(self):
        """Errors the page logged (goog:loggingPrefs is not needed)."""
        return self.execute("return window.__errors || [];")

    def cleanup(self):
        if self.session is not None:
            try:
                self._call("DELETE", "/session/%s" % self.session,
                           timeout=10)
            except (OSError, WebDriverError):
                pass
            self.session = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if not self._log.closed:
            self._log.close()
