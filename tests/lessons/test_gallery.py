"""The gallery: `python -m course gallery` writes a page per lesson and an index from the lessons'
runs, and headless Chromium (Debian's chromium; .ci/run installs it) loads every page with each
image drawn, no error and no console message, and renders the index as a non-blank picture."""
import json
import re
import shutil
import subprocess
import sys

import pytest

from course.runtime.syllabus import SYLLABUS

LESSONS = [e for e in SYLLABUS if e.present]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--enable-logging=stderr", "--v=0"]
# Injected into a copy of each page: records failed loads and errors, then, once everything has
# loaded, writes what it found into the page, where --dump-dom shows it.
CHECKER = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(String(e.message || (e.target && e.target.src))), true);
const consoleError = console.error;
console.error = (...args) => { window.__errors.push(args.join(" ")); consoleError(...args); };
window.addEventListener("load", () => {
  const images = [...document.images];
  const bad = images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute("src"));
  const out = document.createElement("pre");
  out.id = "check";
  out.textContent = JSON.stringify({images: images.length, bad: bad, errors: window.__errors});
  document.body.appendChild(out);
});
</script>"""


@pytest.fixture(scope="module")
def gallery(lesson_runs, tmp_path_factory):
    """The gallery command on the lessons' shared runs (copied as figures/<lesson>/): it reuses them."""
    root = tmp_path_factory.mktemp("gallery")
    summaries = {}
    for entry in LESSONS:
        summary, out, _ = lesson_runs.get(entry.stem)
        shutil.copytree(out, root / entry.stem)
        summaries[entry.stem] = summary
    done = subprocess.run([sys.executable, "-m", "course", "gallery", "--fast", "--out", str(root)],
                          capture_output=True, text=True, timeout=600)
    return root, summaries, done


@pytest.mark.slow
def test_gallery_reuses_the_runs_and_writes_a_page_per_lesson(gallery):
    root, summaries, done = gallery
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("reusing") == len(LESSONS)
    figures = sum(len(s["figures"]) for s in summaries.values())
    assert done.stdout.splitlines()[-1] == f"gallery: {root}/index.html and {len(LESSONS)} lesson pages ({figures} figures)"
    index = (root / "index.html").read_text()
    for stem, summary in summaries.items():
        assert f'href="{stem}.html"' in index
        page = (root / f"{stem}.html").read_text()
        images = re.findall(r'<img src="([^"]+)"', page)
        assert sorted(images) == sorted(f"{stem}/{name}" for name in summary["figures"])
        assert page.count("<figcaption>") == len(summary["figures"])
        for key, check in summary["checks"].items():
            row = re.search(rf'<tr id="n-{re.escape(key)}">.*?</tr>', page, re.S)
            assert row and ("ok</span>" if check["ok"] else "FAILED</span>") in row.group(0), key
        assert "Claims of the source texts" in page
        for claim in summary.get("claims", []):
            assert f"<strong>{claim['id']}</strong>" in page and claim["status"] in page
        assert "http://" not in page and "https://" not in page  # nothing from the network


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium not installed (Debian package chromium; .ci/run installs it)")
    return path


@pytest.mark.slow
def test_every_page_loads_in_chromium_with_every_image_and_no_error(gallery, tmp_path):
    browser = chromium()
    root, _, done = gallery
    assert done.returncode == 0, done.stderr
    for page in ["index.html"] + [f"{e.stem}.html" for e in LESSONS]:
        checked = root / f"_check_{page}"
        checked.write_text((root / page).read_text().replace("<head>", "<head>" + CHECKER, 1))
        loaded = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                                 "--virtual-time-budget=20000", "--dump-dom", checked.as_uri()],
                                capture_output=True, text=True, timeout=300)
        found = re.search(r'<pre id="check">(.*?)</pre>', loaded.stdout, re.S)
        assert found, f"{page}: the page did not finish loading ({loaded.stderr[-500:]})"
        result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
        assert result["images"] > 0 and result["bad"] == [] and result["errors"] == [], (page, result)
        console = [line for line in loaded.stderr.splitlines() if ":CONSOLE" in line]
        assert console == [], (page, console)


@pytest.mark.slow
def test_the_index_renders_as_a_non_blank_picture(gallery, tmp_path):
    import matplotlib.image

    browser = chromium()
    root, _, _ = gallery
    shot = tmp_path / "index.png"
    subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1600",
                    "--virtual-time-budget=20000", f"--screenshot={shot}", (root / "index.html").as_uri()],
                   capture_output=True, text=True, timeout=300)
    pixels = matplotlib.image.imread(shot)[..., :3]
    not_white = (pixels < 0.9).any(axis=-1).mean()
    assert pixels.std() > 0.05 and not_white > 0.02, (pixels.std(), not_white)  # text and thumbnails, not a blank page
