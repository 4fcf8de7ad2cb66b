"""The Snakemake report of the tiny run opens in headless Chromium with every figure, in its study and stage."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, run_workflow
from soilsat.figures.simonsen import DATA_FIGURES

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
STUDY_OF = {
    "simonsen": "Simonsen 2021",
    "tsagkatakis": "Tsagkatakis 2021",
    "tziolas": "Tziolas 2020",
    "zhang": "Zhang 2022",
}

# Appended to a copy of the report: decode every image the report embeds and, once React has drawn
# the navbar, write what loaded and the navbar's text into the DOM that --dump-dom prints.
PROBE = """
<script>
window.addEventListener("load", () => {
  const found = [];
  const pending = [];
  for (const [category, subcategories] of Object.entries(categories)) {
    for (const [subcategory, paths] of Object.entries(subcategories)) {
      for (const path of paths) {
        const data = results[path].data_uri;
        if (!data.startsWith("data:image/")) { found.push({path, category, subcategory, kind: "other"}); continue; }
        const img = new Image();
        pending.push(new Promise(done => {
          img.onload = () => { found.push({path, category, subcategory, kind: "image", width: img.naturalWidth,
                                           height: img.naturalHeight}); done(); };
          img.onerror = () => { found.push({path, category, subcategory, kind: "broken"}); done(); };
        }));
        img.src = data;
      }
    }
  }
  const rendered = new Promise(done => {
    const poll = () => document.querySelector("#app").textContent.trim() ? done() : setTimeout(poll, 100);
    poll();
  });
  Promise.all([...pending, rendered]).then(() => {
    const out = document.createElement("pre");
    out.id = "soilsat-check";
    out.textContent = JSON.stringify({found, app: document.querySelector("#app").textContent});
    document.body.appendChild(out);
  });
});
</script>
"""


def chromium_dom(page: Path, profile: Path) -> str:
    """The DOM of a local page after headless Chromium ran its scripts."""
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",
        "--dump-dom",
        page.as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture(scope="module")
def report(tiny_run) -> Path:
    """The report of the tiny run."""
    path = tiny_run / "report.html"
    run_workflow(tiny_run, "--report", str(path), configfile=ROOT / "tests" / "configs" / "tiny.yaml")
    return path


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"chromium not found at {CHROMIUM}; install it with tests/install_chromium.sh (root)",
)
def test_report_shows_every_figure_in_its_study_and_stage(tiny_run, report, tmp_path):
    page = tmp_path / "report.html"
    head, _, tail = report.read_text().rpartition("</body>")  # the last one: bundled scripts quote the tag too
    page.write_text(head + PROBE + "</body>" + tail)
    dom = chromium_dom(page, tmp_path / "profile")
    match = re.search(r'<pre id="soilsat-check">(.*?)</pre>', dom, re.S)
    assert match, "the report's scripts did not run in Chromium"
    check = json.loads(
        match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )
    for study in STUDY_OF.values():
        assert study in check["app"]  # the navbar lists every study
    images = {item["path"]: item for item in check["found"] if item["kind"] == "image"}
    assert not [item for item in check["found"] if item["kind"] == "broken"]
    figures = sorted(p.relative_to(tiny_run).as_posix() for p in (tiny_run / "results").rglob("figures/**/*.png"))
    ssm_maps = len(list((tiny_run / "results").rglob("maps/ssm_*/*.tif")))
    assert ssm_maps >= 2  # at least one mapped date per region
    validation = [f for f in figures if "/figures/validation/" in f]
    # probe data, SSM models, Fig 28 per region, clay and SOC panels, clay and SOC quick-looks,
    # clay models + CNN filters + SOC repeats, the three fusion figures, one per SSM map
    assert len(figures) - len(validation) == 11 + 6 + 2 + 2 + 4 + 3 + 3 + ssm_maps
    assert sorted(images) == figures
    for path, item in images.items():
        assert item["width"] >= 600 and item["height"] >= 400, path
        name = Path(path).stem
        folder = Path(path).parent.name
        if path in validation:  # figures/validation/<method>/*.png, aoa_<quantity>_<region>.png, aoa_ssm_<region>/
            study = STUDY_OF.get(folder.rstrip("0123456789")) or {
                "aoa_clay": "Tziolas 2020",
                "aoa_soc": "Zhang 2022",
            }.get(name[:8].rstrip("_"), "Simonsen 2021")
            assert (item["category"], item["subcategory"]) == (study, "Validation"), path
            continue
        study = (
            STUDY_OF.get(folder)
            or {"clay": "Tziolas 2020", "soc": "Zhang 2022", "ssm": "Simonsen 2021"}[name[:4].rstrip("_")]
        )
        stage = "Maps" if "maps" in path or name.startswith("ssm_map") else "Data" if name in DATA_FIGURES else "Models"
        assert (item["category"], item["subcategory"]) == (study, stage), path
    tables = {item["path"] for item in check["found"] if item["kind"] == "other"}
    assert {"results/tiny/tables/mae_landcover.csv", "results/tiny/tables/mae_probe.csv"} <= tables
