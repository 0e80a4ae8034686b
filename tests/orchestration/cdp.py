"""A minimal Chrome DevTools Protocol client: enough to drive headless Chromium in a test
(navigate, run JavaScript, wait for text, click, screenshot) without a browser download."""

from __future__ import annotations

import base64
import itertools
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import requests
from websockets.sync.client import connect

from tests.conftest import free_port

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]


class Chromium:
    def __init__(self, executable: str, profile_dir: Path, width: int = 1800, height: int = 1100):
        port = free_port()
        self._proc = subprocess.Popen(
            [
                executable,
                *FLAGS,
                f"--remote-debugging-port={port}",
                f"--user-data-dir={profile_dir}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._ids = itertools.count(1)
        self._socket = connect(self._page_socket(port), max_size=None, open_timeout=30)
        self.call("Page.enable")

    def _page_socket(self, port: int) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                targets = requests.get(f"http://127.0.0.1:{port}/json", timeout=2).json()
                pages = [t for t in targets if t.get("type") == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.2)
        raise AssertionError("Chromium did not open its DevTools port")

    def call(self, method: str, **params) -> dict:
        message_id = next(self._ids)
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self._socket.recv(timeout=60))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(expression):
                return
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for: {expression}")

    def click_button(self, label: str) -> bool:
        return bool(
            self.evaluate(
                "(() => { const b = [...document.querySelectorAll('button')]"
                f".find(b => b.innerText.trim() === {json.dumps(label)});"
                " if (b) { b.click(); return true; } return false; })()"
            )
        )

    def text(self) -> str:
        return self.evaluate("document.body.innerText") or ""

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        self._socket.close()
        os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait(timeout=30)
