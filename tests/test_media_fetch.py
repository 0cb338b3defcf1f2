"""Issue 12, downloading: the media job against a loopback server of the real photographs
(shared/corpus/images) and variants of them, with each fault a media host shows."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from PIL import Image, PngImagePlugin

from dnflow.fakeimages import OVERSIZE, FakeImages, gps_exif
from dnflow.media import images, job
from dnflow.media.fetch import Backoff, Fetcher, refusal, retry_after
from dnflow.media.settings import MediaSettings
from dnflow.media.store import HEADER, Store, read_index

from .conftest import CORPUS

IMAGES = CORPUS / "images"
FAST = Backoff(base=0.05, max_attempts=3, max_wait=30.0)


def write_media_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """media.csv as the summary writes it: (media_key, type, url), ranked as given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["media_key", "type", "url", "count", "preview_url", "alt_text"])
        for i, (key, kind, url) in enumerate(rows):
            w.writerow([key, kind, url, len(rows) - i, url, ""])
    return path


def run(work: Path, slug: str, urls: list[str], *, max_bytes: int = 5_000_000,
        timeout: float = 5.0, fetcher: Fetcher | None = None) -> tuple[dict, dict]:
    """One media job over ``urls`` (photos, most shared first): its record and index."""
    media_csv = write_media_csv(work / "data" / slug / "summary" / "media.csv",
                                [(f"3_{i}", "photo", u) for i, u in enumerate(urls)])
    fetcher = fetcher or Fetcher(max_bytes, timeout=(timeout, timeout), backoff=FAST,
                                 allow_hosts={"127.0.0.1"})
    log = io.StringIO()
    record = job.fetch_search(slug, media_csv, MediaSettings("thumbnails", 2000, max_bytes),
                              workdir=work, log=log, fetcher=fetcher)
    index, problems = read_index(work / "data" / slug / "media" / "index.csv")
    assert not problems
    return record, index


@pytest.fixture(scope="module")
def server():
    with FakeImages(IMAGES) as srv:
        yield srv


@pytest.fixture
def srv(server):
    server.set_path_faults({})
    server.reset_stats()
    server.state.delay = 0.0
    return server


def test_each_fault_is_recorded_with_its_status_and_reason(srv, tmp_path):
    srv.set_path_faults({
        "/astronaut.png": [],  # fine
        "/camera.png": ["1+=404"], "/chelsea.png": ["1+=410"],
        "/coffee.png": ["1=500"],  # 500, then the file
        "/coins.png": ["1+=500"],  # 500 every time
        "/brick.png": ["1+=slow:3"],
        "/retina.jpg": ["1=429:1"],  # Retry-After: 1, then the file
        "/astronaut-small.jpg": ["1+=wrong_type"],
        "/astronaut-gps.jpg": ["1+=oversize"],
        "/camera-small.jpg": ["1+=truncated"],
        "/chelsea-small.jpg": ["1+=cut_image"],
        "/coffee-small.jpg": ["1+=not_image"],
    })
    urls = [srv.url + p for p in ("/astronaut.png", "/camera.png", "/chelsea.png",
                                  "/coffee.png", "/coins.png", "/brick.png", "/retina.jpg",
                                  "/astronaut-small.jpg", "/astronaut-gps.jpg",
                                  "/camera-small.jpg", "/chelsea-small.jpg",
                                  "/coffee-small.jpg")]
    urls += ["file:///etc/passwd", "ftp://127.0.0.1/a.png", "javascript:alert(4)"]
    record, index = run(tmp_path, "s", urls, max_bytes=2_000_000, timeout=0.5)
    got = {u.removeprefix(srv.url): (e.status, e.http_status) for u, e in index.items()}
    assert got == {
        "/astronaut.png": ("ok", "200"), "/camera.png": ("gone", "404"),
        "/chelsea.png": ("gone", "410"), "/coffee.png": ("ok", "200"),
        "/coins.png": ("failed", "500"), "/brick.png": ("failed", ""),
        "/retina.jpg": ("ok", "200"), "/astronaut-small.jpg": ("ok", "200"),
        "/astronaut-gps.jpg": ("failed", "200"), "/camera-small.jpg": ("failed", ""),
        "/chelsea-small.jpg": ("failed", "200"), "/coffee-small.jpg": ("failed", "200"),
        "file:///etc/passwd": ("failed", ""), "ftp://127.0.0.1/a.png": ("failed", ""),
        "javascript:alert(4)": ("failed", ""),
    }
    reason = {u.removeprefix(srv.url): e.reason for u, e in index.items()}
    assert "timed out" in reason["/brick.png"]
    assert "too big" in reason["/astronaut-gps.jpg"]
    assert "truncated" in reason["/camera-small.jpg"]
    assert "not a complete image" in reason["/chelsea-small.jpg"]
    assert "not an image" in reason["/coffee-small.jpg"]
    assert "HTTP 500" in reason["/coins.png"]
    assert all(reason[u] == "not an http(s) URL" for u in urls[-3:])
    # gone items carry the time they were first found gone; ok ones a stored original
    assert all(e.first_gone and e.first_gone == e.last_tried for e in index.values()
               if e.status == "gone")
    store = Store(tmp_path / "data" / "media")
    for e in index.values():
        assert bool(e.sha256) == (e.status == "ok")
        if e.status == "ok":
            assert store.original(e.sha256, e.ext).read_bytes() == \
                srv.state.files[e.url.rsplit("/", 1)[1]]
    assert index[srv.url + "/retina.jpg"].ext == "jpg"
    # retries: bounded, and only of what can change (500, 429, slow, truncated)
    assert srv.hits("/coffee.png") == 2 and srv.hits("/retina.jpg") == 2
    assert srv.hits("/coins.png") == 3 and srv.hits("/camera.png") == 1
    assert srv.hits("/coffee-small.jpg") == 1 and srv.hits("/astronaut-gps.jpg") == 1
    # Retry-After was waited for
    retina = [r["at"] for r in srv.state.log if r["path"] == "/retina.jpg"]
    assert retina[1] - retina[0] >= 0.95
    assert record["ok"] == 4 and record["gone"] == 2 and record["failed"] == 9
    header = (tmp_path / "data/s/media/index.csv").read_text().split("\n", 1)[0]
    assert header == ",".join(HEADER)
    # the index keeps media.csv's order (the most shared first)
    assert list(index) == urls


def test_a_rerun_fetches_nothing_it_has_and_retries_failures(srv, tmp_path):
    names = ["/astronaut.png", "/camera.png", "/coffee.png", "/coins-small.jpg"]
    urls = [srv.url + n for n in names]
    srv.set_path_faults({"/camera.png": ["1+=404"], "/coffee.png": ["1+=500"],
                         "/coins-small.jpg": ["1+=cut_image"]})
    media = tmp_path / "data" / "s" / "media"
    _, first = run(tmp_path, "s", urls)
    token = job.retry_token(media)
    assert token  # failures left: the next plain run must try again
    assert srv.hits() == 1 + 1 + 3 + 1
    # the servers recover; a later run asks only for what failed
    time.sleep(1.1)  # a later second: last_tried moves, first_gone must not
    srv.set_path_faults({"/camera.png": ["1+=404"]})
    srv.reset_stats()
    record, second = run(tmp_path, "s", urls)
    assert srv.state.counts == {"/coffee.png": 1, "/coins-small.jpg": 1}
    assert [second[u].status for u in urls] == ["ok", "gone", "ok", "ok"]
    assert second[urls[1]].first_gone == first[urls[1]].first_gone
    assert second[urls[1]].last_tried == first[urls[1]].last_tried
    assert record["fetched"] == 2 and record["requests"] == 2
    # nothing failed: the token stays as this run was planned with (no run is owed)
    assert job.retry_token(media) == token
    srv.reset_stats()
    record, third = run(tmp_path, "s", urls)
    assert srv.hits() == 0 and record["requests"] == 0
    assert third == second


def test_a_stored_file_that_went_missing_is_fetched_again(srv, tmp_path):
    url = srv.url + "/coins.png"
    _, index = run(tmp_path, "s", [url])
    Store(tmp_path / "data" / "media").original(index[url].sha256, "png").unlink()
    srv.reset_stats()
    _, again = run(tmp_path, "s", [url])
    assert srv.hits() == 1 and again[url].status == "ok"


def test_the_same_image_in_two_searches_is_stored_once(tmp_path):
    astronaut = (IMAGES / "astronaut.png").read_bytes()
    with FakeImages(IMAGES, extra={"copy-of-astronaut.png": astronaut}) as srv:
        _, a = run(tmp_path, "a", [srv.url + "/astronaut.png", srv.url + "/coins.png"])
        record, b = run(tmp_path, "b", [srv.url + "/copy-of-astronaut.png"])
        assert record["fetched"] == 1 and record["published"] == 1
        # a URL another search has (ok or gone) is not asked for again
        srv.set_path_faults({"/camera.png": ["1+=404"]})
        _, a = run(tmp_path, "a", [srv.url + "/astronaut.png", srv.url + "/coins.png",
                                   srv.url + "/camera.png"])
        srv.reset_stats()
        record, c = run(tmp_path, "c", [srv.url + "/camera.png", srv.url + "/coins.png"])
        assert srv.hits() == 0 and record["requests"] == 0
        assert [e.status for e in c.values()] == ["gone", "ok"]
        assert c[srv.url + "/camera.png"].first_gone == a[srv.url + "/camera.png"].first_gone
        assert (tmp_path / "site/c/media" / c[srv.url + "/coins.png"].name).is_file()
    sha = a[srv.url + "/astronaut.png"].sha256
    assert b[srv.url + "/copy-of-astronaut.png"].sha256 == sha
    stored = sorted(p.name for p in (tmp_path / "data/media/sha256").rglob("*.png"))
    assert stored == sorted([f"{sha}.png", f"{a[srv.url + '/coins.png'].sha256}.png"])
    published = tmp_path / "data/media/published" / sha[:2] / f"{sha}.png"
    for slug in ("a", "b"):
        link = tmp_path / "site" / slug / "media" / f"{sha}.png"
        assert link.stat().st_ino == published.stat().st_ino  # one file, linked twice


def _exif_jpeg(orientation: int | None = None) -> bytes:
    im = Image.open(IMAGES / "chelsea.png").convert("RGB")  # 451 x 300
    exif = Image.Exif()
    exif.load(gps_exif())
    if orientation:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes(), icc_profile=b"\0" * 128, comment=b"secret")
    return buf.getvalue()


def _png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at home, 12 Elm Street")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS</x:xmpmeta>")
    buf = io.BytesIO()
    Image.open(IMAGES / "coins.png").save(buf, "PNG", pnginfo=info, icc_profile=b"\0" * 64)
    return buf.getvalue()


def test_published_copies_carry_no_exif_and_originals_are_kept_as_fetched(tmp_path):
    extra = {"phone.jpg": _exif_jpeg(), "rotated.jpg": _exif_jpeg(orientation=6),
             "notes.png": _png_with_text()}
    with FakeImages(IMAGES, extra=extra) as srv:
        urls = [srv.url + "/" + n for n in ("phone.jpg", "rotated.jpg", "notes.png",
                                            "astronaut-gps.jpg")]
        _, index = run(tmp_path, "s", urls)
    store = Store(tmp_path / "data" / "media")
    for url in urls:
        e = index[url]
        original = store.original(e.sha256, e.ext)
        assert original.read_bytes() == srv.state.files[url.rsplit("/", 1)[1]]
        published = tmp_path / "site" / "s" / "media" / e.name
        with Image.open(published) as im:
            assert dict(im.getexif()) == {}
            assert not ({"exif", "icc_profile", "comment", "xmp", "Comment",
                         "XML:com.adobe.xmp"} & set(im.info)), im.info.keys()
            assert im.format == {"jpg": "JPEG", "png": "PNG"}[e.ext]
        if e.ext == "jpg":
            with Image.open(original) as orig:  # the original still has its GPS position
                assert orig.getexif().get_ifd(0x8825)[2] == (52.0, 22.0, 12.0)
            assert b"GPS" not in published.read_bytes() and b"secret" not in \
                published.read_bytes()
        else:
            assert b"Elm Street" not in published.read_bytes()
    # the orientation the EXIF gave is kept in the pixels: the cat stands upright
    with Image.open(tmp_path / "site/s/media" / index[urls[1]].name) as im:
        assert im.size == (300, 451)


def test_per_host_concurrency_never_exceeds_four(tmp_path):
    with FakeImages(IMAGES, delay=0.3) as one:
        # one host, 8 threads free: still 4 at a time
        record, _ = run(tmp_path, "alone", [one.url + "/" + n
                                            for n in sorted(one.state.files)[:12]])
        assert one.stats()["max_in_flight"] == 4 and record["ok"] == 12
    with FakeImages(IMAGES, delay=0.3) as one, FakeImages(IMAGES, delay=0.3) as two:
        names = sorted(one.state.files)[:10]
        urls = [s.url + "/" + n for n in names for s in (one, two)]
        started = time.monotonic()
        record, index = run(tmp_path, "s", urls)
        took = time.monotonic() - started
        # both hosts worked 4 at a time, together (8 threads), never 5 on one host
        assert one.stats()["max_in_flight"] == 4 and two.stats()["max_in_flight"] == 4
    assert record["ok"] == 20
    assert took < 10 * 0.3  # parallel: one at a time would take 6 s


def test_max_bytes_stops_the_transfer(srv, tmp_path):
    srv.set_path_faults({"/astronaut.png": ["1+=oversize"], "/coins.png": ["1+=huge"]})
    _, index = run(tmp_path, "s", [srv.url + "/astronaut.png", srv.url + "/coins.png"],
                   max_bytes=1_000_000)
    deadline = time.monotonic() + 10  # the server notices the hang-up on its next write
    while "/astronaut.png" not in srv.stats()["bytes_sent"] and time.monotonic() < deadline:
        time.sleep(0.05)
    sent = srv.stats()["bytes_sent"]
    # the streamed one was cut off near the cap (plus what the sockets buffer), far
    # before its 64 MiB; the one that declared its size was never read
    assert sent["/astronaut.png"] < OVERSIZE // 4
    assert "stopped after" in index[srv.url + "/astronaut.png"].reason
    assert "not downloaded" in index[srv.url + "/coins.png"].reason
    assert not (tmp_path / "data" / "media" / "sha256").exists()


def test_a_decompression_bomb_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)
    data = (IMAGES / "astronaut.png").read_bytes()  # 512 x 512
    with pytest.raises(images.NotAnImage, match="decompression bomb"):
        images.inspect(data)


def test_what_is_fetched_follows_the_settings(tmp_path):
    path = tmp_path / "media.csv"
    path.write_text("media_key,type,url,count,preview_url,alt_text\n"
                    "7_1,video,,9,https://h/v1.jpg,\n"
                    "3_1,photo,https://h/p1.jpg,5,https://h/p1.jpg?name=small,\n"
                    "3_2,photo,https://h/p2.jpg,4,,\n"
                    "3_3,photo,,3,,\n"
                    "3_4,photo,https://h/p2.jpg,2,,\n")

    def urls(download, n=2000):
        return [(w.media_key, w.url) for w in job.wanted(path, MediaSettings(download, n))]

    assert urls("thumbnails") == [("7_1", "https://h/v1.jpg"),
                                  ("3_1", "https://h/p1.jpg?name=small"),
                                  ("3_2", "https://h/p2.jpg")]
    assert urls("full") == [("7_1", "https://h/v1.jpg"), ("3_1", "https://h/p1.jpg"),
                            ("3_2", "https://h/p2.jpg")]
    assert urls("full", 2) == urls("full")[:2]
    assert urls("none") == [] and urls("thumbnails", 0) == []
    assert job.wanted(tmp_path / "missing.csv", MediaSettings()) == []


def test_retry_after_as_seconds_or_a_date():
    assert retry_after("7", 0) == 7
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470.0) == 10
    assert retry_after("soon", 0) is None and retry_after(None, 0) is None


def test_a_long_retry_after_is_left_to_the_next_run(srv, tmp_path):
    srv.set_path_faults({"/coins.png": ["1+=429:3600"]})
    started = time.monotonic()
    _, index = run(tmp_path, "s", [srv.url + "/coins.png"])
    assert time.monotonic() - started < 5
    assert index[srv.url + "/coins.png"].status == "failed"
    assert srv.hits("/coins.png") == 1


def test_the_job_never_fails_and_tries_again_next_time(srv, tmp_path, monkeypatch):
    monkeypatch.setenv("DNFLOW_MEDIA_ALLOW_HOSTS", "127.0.0.1")
    media_csv = write_media_csv(tmp_path / "data/s/summary/media.csv",
                                [("3_1", "photo", srv.url + "/coins.png")])
    record_path = tmp_path / "data/s/media/fetch.json"

    def job_run() -> dict:
        job.run_job("s", str(media_csv), MediaSettings(), str(record_path),
                    str(tmp_path / "site/s/media"), str(tmp_path / "s.log"),
                    workdir=tmp_path)
        return json.loads(record_path.read_text())

    # the store cannot be written: that item fails, with its reason, and the job goes on
    (tmp_path / "data" / "media").write_text("not a folder")
    record = job_run()
    assert record["status"] == "ok" and record["failed"] == 1
    (entry,) = read_index(tmp_path / "data/s/media/index.csv")[0].values()
    assert entry.status == "failed" and "NotADirectoryError" in entry.reason
    token = job.retry_token(tmp_path / "data/s/media")
    assert token
    # the index cannot be written: the job's record says failed, the trace is logged
    (tmp_path / "data" / "media").unlink()
    (tmp_path / "data/s/media/index.csv").unlink()
    (tmp_path / "data/s/media/index.csv").mkdir()
    record = job_run()
    assert record["status"] == "failed" and "IsADirectoryError" in record["error"]
    assert job.retry_token(tmp_path / "data/s/media") not in ("", token)
    assert "Traceback" in (tmp_path / "s.log").read_text()
    assert (tmp_path / "site/s/media").is_dir()
    # the causes are gone: the next run stores it
    (tmp_path / "data/s/media/index.csv").rmdir()
    assert job_run()["ok"] == 1


def test_a_damaged_index_row_is_not_trusted(srv, tmp_path):
    url = srv.url + "/coins.png"
    _, first = run(tmp_path, "s", [url])
    path = tmp_path / "data/s/media/index.csv"
    path.write_text(path.read_text().replace(",ok,", ",maybe,"))
    assert read_index(path)[1] and read_index(path)[0] == {}
    srv.reset_stats()
    # the store knows what the URL gave: the row is made again without a request
    _, index = run(tmp_path, "s", [url])
    assert srv.hits() == 0 and index == first
    # with that lost too (and the row damaged again), the URL is fetched again
    path.write_text(path.read_text().replace(",ok,", ",maybe,"))
    shutil.rmtree(tmp_path / "data/media/urls")
    _, index = run(tmp_path, "s", [url])
    assert srv.hits() == 1 and index[url].status == "ok"


def test_the_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(job.TIMEOUT_ENV, "0.25")
    assert job._fetcher(MediaSettings(), print).timeout == (0.25, 0.25)
    monkeypatch.delenv(job.TIMEOUT_ENV)
    assert job._fetcher(MediaSettings(), print).timeout == (10.0, 30.0)
    assert os.environ.get("DNFLOW_MEDIA_DOWNLOAD") == "none"  # tests/conftest.py


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/a.png", "http://localhost:8080/a.png", "http://[::1]/a.png",
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/a.png",
    "https://192.168.1.1/a.png", "http://0.0.0.0/a.png",
])
def test_a_host_on_a_non_public_address_is_refused(url):
    assert "is not a public address" in refusal(url)


def test_public_and_allowed_hosts_pass():
    assert refusal("https://8.8.8.8/media/a.jpg") is None  # an address: nothing resolved
    assert refusal("http://127.0.0.1:81/a.png", {"127.0.0.1"}) is None
    assert refusal("http://127.0.0.1:81/a.png", {"127.0.0.1:81"}) is None
    assert refusal("http://127.0.0.1:82/a.png", {"127.0.0.1:81"})
    assert refusal("ftp://8.8.8.8/a.png") == "not an http(s) URL"


def test_without_allowance_the_loopback_server_is_never_asked(srv, tmp_path):
    fetcher = Fetcher(5_000_000, backoff=FAST)
    _, index = run(tmp_path, "s", [srv.url + "/coins.png"], fetcher=fetcher)
    assert index[srv.url + "/coins.png"].reason.startswith("refused: 127.0.0.1")
    assert srv.hits() == 0


def test_each_redirect_hop_is_checked(srv, tmp_path):
    port = srv.url.rsplit(":", 1)[1]
    srv.set_path_faults({
        "/moved.png": ["1+=redirect:/coins.png"],  # same host: followed
        "/away.png": [f"1+=redirect:http://localhost:{port}/coins.png"],  # not allowed
        "/file.png": ["1+=redirect:file:///etc/passwd"],
        "/loop.png": ["1+=redirect:/loop.png"],
    })
    urls = [srv.url + p for p in ("/moved.png", "/away.png", "/file.png", "/loop.png")]
    _, index = run(tmp_path, "s", urls)
    assert index[urls[0]].status == "ok"
    assert index[urls[0]].sha256 == hashlib.sha256(srv.state.files["coins.png"]).hexdigest()
    assert "redirected: refused: localhost" in index[urls[1]].reason
    assert index[urls[2]].reason == "redirected: not an http(s) URL"
    assert index[urls[3]].reason == "too many redirects"
    assert srv.hits("/loop.png") == 6 and srv.hits("/coins.png") == 1


def test_a_spent_time_budget_leaves_items_pending_for_the_next_run(srv, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setenv(job.TIME_BUDGET_ENV, "0")
    urls = [srv.url + "/coins.png", srv.url + "/camera.png"]
    record, index = run(tmp_path, "s", urls)
    assert [e.status for e in index.values()] == ["pending", "pending"]
    assert srv.hits() == 0 and record["pending"] == 2
    assert job.retry_token(tmp_path / "data/s/media")
    monkeypatch.delenv(job.TIME_BUDGET_ENV)
    _, index = run(tmp_path, "s", urls)
    assert [e.status for e in index.values()] == ["ok", "ok"]


def test_the_image_host_serves_from_the_command_line():
    proc = subprocess.Popen([sys.executable, "-m", "dnflow", "fakeimages", "--port", "0",
                             "--folder", str(IMAGES), "--fault", "/camera.png=1+=404"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        ok = requests.get(f"{url}/astronaut.png", timeout=10)
        assert ok.content == (IMAGES / "astronaut.png").read_bytes()
        assert requests.get(f"{url}/camera.png", timeout=10).status_code == 404
        assert requests.get(f"{url}/coins-gps.jpg", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_host_is_looked_up_once_per_job_and_a_failed_lookup_again(monkeypatch):
    from dnflow.media import fetch

    calls: list[str] = []

    def lookup(host, port, proto=0):
        calls.append(host)
        if host == "down.example":
            raise OSError("no answer")
        address = "10.1.2.3" if host == "inside.example" else "93.184.216.34"
        return [(socket.AF_INET, socket.SOCK_STREAM, proto, "", (address, port))]

    fetch._resolved.cache_clear()
    monkeypatch.setattr(fetch.socket, "getaddrinfo", lookup)
    try:
        for n in range(3):
            assert refusal(f"https://media.example/{n}.jpg") is None
            assert "10.1.2.3" in refusal(f"https://inside.example/{n}.jpg")
            assert refusal(f"https://down.example/{n}.jpg") is None  # left to the request
        assert calls.count("media.example") == calls.count("inside.example") == 1
        assert calls.count("down.example") == 3
    finally:
        fetch._resolved.cache_clear()


def test_the_published_copy_made_from_the_download_is_the_one_made_from_the_file(tmp_path):
    from dnflow.media import images

    originals = {"rotated.jpg": _exif_jpeg(orientation=6), "notes.png": _png_with_text(),
                 **{p.name: p.read_bytes() for p in sorted(IMAGES.iterdir())
                    if p.suffix in (".jpg", ".png")}}
    for name, data in originals.items():
        src = tmp_path / name
        src.write_bytes(data)
        info, im = images.decode(data)
        with im:
            images.publish(im, tmp_path / f"from-download-{name}")
        images.publish(src, tmp_path / f"from-file-{name}")
        made = (tmp_path / f"from-download-{name}").read_bytes()
        assert made == (tmp_path / f"from-file-{name}").read_bytes(), name
        assert images.inspect(data) == info
