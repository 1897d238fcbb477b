"""'Use this in code' works as shown: the curl and Python snippets of a dataset's page, taken
from the page itself, run against a real server on loopback and get the dataset's rows."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys

import httpx
import pytest


def snippet(page: str, language: str) -> str:
    found = re.search(rf'<code class="language-{language}">(.*?)</code>', page, re.S)
    assert found, f"no {language} snippet on the page"
    return html.unescape(found.group(1))


@pytest.fixture
def page_and_server(portal, serve):  # type: ignore[no-untyped-def]
    server = serve(portal.installation)
    with httpx.Client(base_url=server.url, timeout=30, follow_redirects=True) as client:
        yield client.get(f"/d/{portal.towns}").text, server
    server.stop()


def test_the_curl_snippet_gets_five_rows(page_and_server, portal):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    page, _ = page_and_server
    code = snippet(page, "shell")
    done = subprocess.run(["bash", "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 5 and rows[0]["town"] == "Andover"


def test_the_python_snippet_reads_every_row_with_sodapy_and_pandas(page_and_server, tmp_path):
    page, _ = page_and_server
    script = tmp_path / "snippet.py"
    script.write_text(snippet(page, "python") + "print('ROWS', len(df))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ROWS 6" in done.stdout
    assert "Andover" in done.stdout


def test_the_r_snippet_names_this_portal_s_resource(page_and_server, portal):
    page, server = page_and_server
    code = snippet(page, "r")
    url = re.search(r'read\.socrata\("([^"]+)"\)', code).group(1)
    assert url == f"{server.url}/resource/{portal.towns}.json"
    assert len(httpx.get(url, timeout=30).json()) == 6
