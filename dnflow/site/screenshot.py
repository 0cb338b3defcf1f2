"""Screenshots of a built site in Debian's chromium (never a downloaded browser).

    python -m dnflow.site.screenshot SITE_DIR OUT_DIR [--slug SLUG] [--dark]

writes OUT_DIR/index.png and OUT_DIR/search.png (the biggest search unless --slug).
Every request that is not file:// is blocked, as in the browser tests.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("DNFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(playwright: Any) -> Any:
    """Debian's chromium through playwright's sync API."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def offline(page: Any, blocked: list[str]) -> None:
    """Let file:// through; abort and record every other request."""
    def handle(route: Any) -> None:
        url = route.request.url
        if url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", handle)


def biggest_search(site: Path) -> str | None:
    import orjson

    best: tuple[int, str] | None = None
    for page in sorted(site.glob("*/index.html")):
        summary = page.parent / "downloads" / "summary.json"
        try:
            s = orjson.loads(summary.read_bytes())
        except (OSError, ValueError):
            continue
        key = (int(s.get("tweets") or 0), page.parent.name)
        if s.get("status") != "failed" and (best is None or key > best):
            best = key
    return best[1] if best else None


def screenshots(site: Path, out: Path, slug: str | None = None, dark: bool = False,
                max_height: int = 2400) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    slug = slug or biggest_search(site)
    shots = [("index.png", site / "index.html")]
    if slug:
        shots.append(("search.png", site / slug / "index.html"))
    written = []
    with sync_playwright() as p:
        browser = launch(p)
        ctx = browser.new_context(viewport={"width": 1280, "height": 900},
                                  device_scale_factor=1,
                                  color_scheme="dark" if dark else "light")
        page = ctx.new_page()
        offline(page, [])
        for name, path in shots:
            page.goto(path.resolve().as_uri())
            height = page.evaluate("document.documentElement.scrollHeight")
            target = out / name
            clip = {"x": 0, "y": 0, "width": 1280, "height": max_height}
            page.screenshot(path=str(target), full_page=True,
                            clip=clip if height > max_height else None)
            written.append(target)
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dnflow.site.screenshot",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("site", type=Path, help="the built site directory (site/)")
    ap.add_argument("out", type=Path, help="where index.png and search.png go")
    ap.add_argument("--slug", help="the search to show (default: the biggest)")
    ap.add_argument("--dark", action="store_true", help="dark colour scheme")
    ap.add_argument("--max-height", type=int, default=2400,
                    help="cut long pages at this many pixels")
    a = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"no chromium at {CHROMIUM}: apt-get install chromium", file=sys.stderr)
        return 2
    for path in screenshots(a.site, a.out, a.slug, a.dark, a.max_height):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
