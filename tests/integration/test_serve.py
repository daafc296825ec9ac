"""`sku-survey serve`: a real preview server that follows edits to the data and shows data errors."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from edits import replace_once
from test_site import copy_project

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.read().decode("utf-8")
    except OSError:
        return None


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_serve_follows_edits_and_shows_errors_without_stopping(tmp_path):
    project = copy_project(tmp_path)
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "--root", str(project.root), "serve", "--offline", "--lang", "en", "--dev-addr", f"127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    page = f"http://127.0.0.1:{port}/en/datasets/rpc/"
    try:
        assert wait_for(lambda: (fetch(page) or "").find("Retail Product Checkout") >= 0, 60), (tmp_path / "serve.log").read_text()

        text = project.data_file.read_text(encoding="utf-8")
        edited = replace_once(text, "Retail Product Checkout dataset", "Retail Product Checkout dataset (edited)")
        project.data_file.write_text(edited, encoding="utf-8")
        assert wait_for(lambda: "(edited)" in (fetch(page) or ""), 30), "the page did not follow the edit"

        project.data_file.write_text(replace_once(edited, "value: 83739", "value: 3M"), encoding="utf-8")
        assert wait_for(lambda: "validation-errors" in (fetch(page) or ""), 30), "no error banner on the page"
        html = fetch(page) or ""
        assert "expected a whole number" in html and "(edited)" in html  # the last valid page stays
        assert proc.poll() is None, "the server stopped on a data error"
        assert "stats.images.value: expected a whole number" in (tmp_path / "serve.log").read_text()

        project.data_file.write_text(edited, encoding="utf-8")
        assert wait_for(lambda: "validation-errors" not in (fetch(page) or "validation-errors"), 30), "the banner stayed after the fix"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
