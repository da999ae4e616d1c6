"""Drives headless Debian chromium over the DevTools protocol for the dashboard browser test.

  cdp_driver.py URL OUTDIR APP ORIGIN

Opens URL once (never reloads it) and reports, one line each, what a person would see:
  "page loaded"              the app table shows at least one app
  "app visible APP"          a row for APP appeared (the test puts APP meanwhile)
  "origin red ORIGIN"        ORIGIN's health badge is drawn red
Screenshots (wide and phone-sized) go to OUTDIR. Any failure prints "FAIL <why>" and exits 1.
Chromium dies with this process (PR_SET_PDEATHSIG), so a killed driver leaves no browser.
"""
import asyncio
import base64
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import websockets

RED = "rgb(220, 38, 38)"  # --bad in style.css


def die_with_parent():
    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Page:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0

    async def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        await self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(await self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    async def eval(self, expression):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def wait_for(self, expression, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.eval(expression):
                return
            await asyncio.sleep(0.1)  # polling the page, not synchronisation
        raise RuntimeError(f"timed out waiting for {what}")

    async def screenshot(self, path, width, height, mobile):
        await self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                        deviceScaleFactor=1, mobile=mobile)
        await asyncio.sleep(0.3)  # one redraw at the new size
        shot = await self.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print(f"screenshot {path}", flush=True)


async def drive(port, url, outdir, app, origin):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as r:
        targets = [t for t in json.load(r) if t.get("type") == "page"]
    async with websockets.connect(targets[0]["webSocketDebuggerUrl"], max_size=None) as ws:
        page = Page(ws)
        await page.call("Page.enable")
        await page.call("Runtime.enable")
        await page.call("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False)
        await page.call("Page.navigate", url=url)
        await page.wait_for("document.querySelectorAll('#apps tr[data-app]').length > 0", "the app table")
        print("page loaded", flush=True)
        await page.screenshot(os.path.join(outdir, "dashboard-before.png"), 1400, 1000, False)
        sel = json.dumps(f'#apps tr[data-app="{app}"]')
        await page.wait_for(f"document.querySelector({sel}) !== null", f"app {app} to appear")
        print(f"app visible {app}", flush=True)
        badge = json.dumps(f'#origins tr[data-origin*="{origin}"] .status')
        await page.wait_for(
            f"(() => {{ const b = document.querySelector({badge}); return b !== null && "
            f"getComputedStyle(b).backgroundColor === {json.dumps(RED)}; }})()",
            f"origin {origin} to turn red")
        print(f"origin red {origin}", flush=True)
        await page.screenshot(os.path.join(outdir, "dashboard-wide.png"), 1400, 1100, False)
        await page.screenshot(os.path.join(outdir, "dashboard-phone.png"), 390, 844, True)
        overflow = await page.eval("document.documentElement.scrollWidth - window.innerWidth")
        print(f"phone overflow {overflow}", flush=True)


def end_browser(browser):
    """Kills the browser's whole process group and waits until it is gone: its zygote and
    renderers outlive a killed parent for a moment and would write into the profile while it is
    being removed (leaving /tmp/er-chromium-* behind)."""
    try:
        os.killpg(browser.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    browser.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(browser.pid, 0)  # any member left?
        except ProcessLookupError:
            return
        time.sleep(0.02)  # polling for the group's end: no event tells a process group is empty


def main():
    url, outdir, app, origin = sys.argv[1:5]
    profile = tempfile.mkdtemp(prefix="er-chromium-")
    env = dict(os.environ, HOME=profile)
    browser = subprocess.Popen(
        ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=die_with_parent,
        start_new_session=True)
    try:
        port = None
        for line in browser.stderr:
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
                break
        # Keep reading its log, or a full pipe would stall the browser.
        threading.Thread(target=lambda: [None for _ in browser.stderr], daemon=True).start()
        if port is None:
            print("FAIL chromium did not start", flush=True)
            return 1
        asyncio.run(drive(port, url, outdir, app, origin))
        print("driver done", flush=True)
        return 0
    except Exception as e:  # the test reads this line
        print(f"FAIL {type(e).__name__}: {e}", flush=True)
        return 1
    finally:
        end_browser(browser)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
