"""Every mermaid chart mlpipex emits, parsed and drawn by mermaid itself in headless Chromium (issue 20).

mermaid's browser bundle comes from npm (scripts/test.sh puts it in .cache-npm/mermaid/);
the page loads it from file://, calls ``mermaid.parse`` and ``mermaid.render`` on each
chart of the quickstart's report.md, a drift.md, a retraining pull request's body and a
deploy check run, and the test reads the SVG mermaid drew: the labels' text, whether
they overlap, how tall the bars are. One screenshot per chart kind goes to
.mlpipex/test-results/.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/lib/chromium/chromium")
MERMAID = ROOT / ".cache-npm" / "mermaid" / "11.17.2" / "mermaid.min.js"
RESULTS = ROOT / ".mlpipex" / "test-results"
HOSTILE = "texture|<b>@team"  # as the issue names it: markdown-escaped it came out as texture\|&lt;b>@&team
# How mermaid 11 draws it: < cannot be drawn as itself in a label (its DOMPurify pass turns it
# into a visible "&lt;"), so mermaid_text gives the look-alike ‹ (U+2039); the rest is verbatim.
HOSTILE_DRAWN = "texture|\u2039b>@team"
FEATURES = [f"feature_{i:02d}" for i in range(49)] + [HOSTILE]

_RENDER = """async ([id, source]) => {
  const parsed = await mermaid.parse(source);
  const {svg} = await mermaid.render(id, source);
  const box = document.createElement("div");
  box.id = "box-" + id;
  box.style.width = "900px";
  box.innerHTML = svg;
  document.body.appendChild(box);
  const rect = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const labels = [...box.querySelectorAll(".left-axis .label text, .bottom-axis .label text")];
  return {
    type: parsed && parsed.diagramType,
    texts: [...box.querySelectorAll("text")].map((t) => t.textContent),
    labels: labels.map((t) => ({text: t.textContent, box: rect(t)})),
    bars: [...box.querySelectorAll(".bar-plot-0 rect")].map(rect),
    plot: box.querySelector(".plot") ? rect(box.querySelector(".plot")) : null,
  };
}"""


def _blocks(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)\n```", markdown, flags=re.S)


def _overlapping(labels: list[dict[str, Any]]) -> list[tuple[str, str]]:
    boxes = [(label["text"], label["box"]) for label in labels]
    return [(a, b) for i, (a, (l1, t1, r1, b1)) in enumerate(boxes) for b, (l2, t2, r2, b2) in boxes[i + 1:]
            if l1 < r2 - 0.5 and l2 < r1 - 0.5 and t1 < b2 - 0.5 and t2 < b1 - 0.5]  # fmt: skip


class Mermaid:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.count = 0

    def render(self, source: str) -> dict[str, Any]:
        self.count += 1
        result: dict[str, Any] = self.page.evaluate(_RENDER, [f"chart{self.count}", source])
        result["id"] = f"chart{self.count}"
        return result

    def screenshot(self, result: dict[str, Any], name: str) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"mermaid-{name}.png"
        self.page.locator(f"#box-{result['id']}").screenshot(path=str(path))
        return path


@pytest.fixture(scope="module")
def mermaid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mermaid]:
    if not MERMAID.exists() or not CHROMIUM.exists():
        reason = f"{MERMAID.relative_to(ROOT)} or {CHROMIUM} is missing (scripts/test.sh installs both)"
        if os.environ.get("CI") in ("true", "1"):
            pytest.fail(reason)
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api")
    page_file = tmp_path_factory.mktemp("mermaid") / "page.html"
    page_file.write_text(f'<!doctype html><html><body><script src="{MERMAID.as_uri()}"></script>'
                         '<script>mermaid.initialize({startOnLoad: false, securityLevel: "strict"});</script>'
                         "</body></html>")  # fmt: skip
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--allow-file-access-from-files"])  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(page_file.as_uri())
            assert page.evaluate("typeof mermaid.parse") == "function"
            yield Mermaid(page)
        finally:
            browser.close()
    assert errors == []


def _write_csv(path: Path, columns: dict[str, np.ndarray]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(columns))
        writer.writerows(zip(*(c.tolist() for c in columns.values())))
    return path


def test_the_quickstart_report_charts(mermaid: Mermaid) -> None:
    """report.md of the quickstart's gates: sub-millisecond latencies under a 2-20 ms SLA."""
    from mlpipex import load_config, run_gates
    from mlpipex.report import render_markdown

    report = run_gates(load_config(ROOT / "examples" / "quickstart" / "mlpipex.yaml"), ["latency", "compare"])
    blocks = _blocks(render_markdown(report))
    assert len(blocks) >= 3  # latency at batch 1 and 64, candidate vs baseline
    for i, source in enumerate(blocks):
        drawn = mermaid.render(source)
        assert drawn["type"] == "xychart" and drawn["bars"], source
        assert _overlapping(drawn["labels"]) == []
        if "Latency" in source:
            top, bottom = drawn["plot"][1], drawn["plot"][3]
            heights = [b[3] - b[1] for b in drawn["bars"]]
            # The axis fits the bars: on one scaled to the 2-10 ms SLA the tallest of these
            # sub-millisecond bars was a pixel or two. (Measured latencies: on a busy machine
            # p50 and p99 can be far apart, so only the tallest bar is held to this.)
            assert max(heights) > 0.25 * (bottom - top), (heights, source)
        assert mermaid.screenshot(drawn, "report-latency" if "Latency" in source else f"report-compare-{i}").stat().st_size > 3000


def test_a_drift_report_with_50_features(mermaid: Mermaid, tmp_path: Path) -> None:
    from mlpipex.cli import main

    rng = np.random.default_rng(7)
    reference = {name: rng.normal(0, 1, 800) for name in FEATURES}
    current = {name: rng.normal(0.4 * (i % 3), 1, 800) for i, name in enumerate(FEATURES)}
    out = tmp_path / "report"
    code = main(["drift", "--reference", str(_write_csv(tmp_path / "ref.csv", reference)),
                 "--current", str(_write_csv(tmp_path / "cur.csv", current)), "--report-dir", str(out)])  # fmt: skip
    assert code == 1
    blocks = _blocks((out / "drift.md").read_text(encoding="utf-8"))
    assert blocks
    for source in blocks:
        drawn = mermaid.render(source)
        assert drawn["type"] == "xychart"
        assert sorted(label["text"] for label in drawn["labels"]) == sorted([*FEATURES[:-1], HOSTILE_DRAWN])
        assert _overlapping(drawn["labels"]) == []  # 50 labels, each readable
        assert len(drawn["bars"]) == 50
    mermaid.screenshot(drawn, "drift-50-features")


def test_the_retraining_pull_request_chart(mermaid: Mermaid) -> None:
    from mlpipex.app.retraining import render_body

    drift = [{"feature": name, "test": "ks", "statistic": round(0.01 * (i + 1), 4), "p_value": 0.01, "drifted": i > 40}
             for i, name in enumerate(FEATURES)]  # fmt: skip
    record = {"model": "fraud", "reason": "drift", "requested_by": "alice", "trigger": "dashboard",
              "requested_at": "2026-12-01T10:00:00Z", "drift": drift}  # fmt: skip
    (source,) = _blocks(render_body(record, None))
    drawn = mermaid.render(source)
    assert drawn["type"] == "xychart"
    assert HOSTILE_DRAWN in drawn["texts"]  # was texture\|&lt;b>@&#8203;team: markdown escapes in a chart
    assert len(drawn["labels"]) == 50 and _overlapping(drawn["labels"]) == []
    mermaid.screenshot(drawn, "retraining")


def test_the_deploy_pie_after_a_rollback_and_a_canary(mermaid: Mermaid) -> None:
    from mlpipex.events import DeployEvent
    from mlpipex.report import render_deploy_markdown

    old, new = "ghcr.io/acme/fraud@sha256:" + "a" * 64, "ghcr.io/acme/fraud@sha256:" + "b" * 64
    rollback = DeployEvent("rollback", "fraud", "prod|<b>", "fraud", ok=True, message="rolled back",
                           artifact=old, traffic=100, by="alice")  # fmt: skip
    (source,) = _blocks(render_deploy_markdown(rollback))
    drawn = mermaid.render(source)
    assert drawn["type"] == "pie"
    assert "restored fraud@sha256:aaaaaaaaaaaa [100]" in drawn["texts"]  # it used to say "new"
    assert not any(text.startswith("new") for text in drawn["texts"])
    assert "Traffic in prod|\u2039b>" in drawn["texts"]
    canary = DeployEvent("canary", "fraud", "prod", "fraud", ok=True, message="10%", artifact=new, stable=old,
                         traffic=10)  # fmt: skip
    (source,) = _blocks(render_deploy_markdown(canary))
    drawn = mermaid.render(source)
    assert {"new fraud@sha256:bbbbbbbbbbbb [10]", "stable fraud@sha256:aaaaaaaaaaaa [90]"} <= set(drawn["texts"])
    mermaid.screenshot(drawn, "deploy-pie")


def test_hostile_labels_render_as_text(mermaid: Mermaid) -> None:
    """Quotes, fences, entity codes and init directives in a label stay text in a drawn chart."""
    from mlpipex.report import xychart

    labels = ['x"]\n```\n<b>', "a#124;b", "%%{init: {'theme': 'dark'}}%%", "a & b"]
    drawn = mermaid.render(xychart(["#4e79a7"], "t", labels, "0 --> 1", [0.1, 0.2, 0.3, 0.4], []))
    assert [label["text"] for label in drawn["labels"] if not re.fullmatch(r"[\d.]+", label["text"])] == [
        "x\u02ba] ``` \u2039b>", "a#\u200b124;b", "%\u200b%{init: {'theme': 'dark'}}%\u200b%", "a & b"]
    assert json.dumps(drawn["texts"]).count("dark") == 1
