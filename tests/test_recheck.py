"""``dnflow recheck``: each platform's loopback fake is asked, in its batches, which of a
search's posts still exist; what is gone goes to the search's deletions, and the next
summary removes it; secrets never reach the output or the file."""

import io
import math
from pathlib import Path

import pytest

from dnflow import deletions
from dnflow.fakeapi import FakeXAPI, recorded_pool
from dnflow.fakemastodon import FakeMastodon
from dnflow.fakemastodon import generated_pool as mastodon_pool
from dnflow.generate import write_archive
from dnflow.recheck import recheck
from dnflow.summary import summarize

from .bskyutil import PASSWORD, bsky_env, make_api
from .mastodonutil import TOKEN as M_TOKEN
from .mastodonutil import m_env
from .xutil import TOKEN, x_env

NOW = {"DNFLOW_NOW": "2026-12-01T06:00:00Z"}
META = {"slug": "s", "generated": "2026-11-28T00:00:00Z"}


def ids_file(data: Path, ids: list[str]) -> None:
    d = data / "s" / "summary"
    d.mkdir(parents=True)
    (d / "tweet-ids.txt").write_text("".join(f"{i}\n" for i in ids))


def run(data: Path, env: dict) -> tuple[int, str, str]:
    out = io.StringIO()
    rc = recheck("s", data, env, out)
    target = data / "s" / deletions.RECHECK_FILE
    return rc, out.getvalue(), target.read_text() if target.exists() else ""


def gone_lines(text: str) -> list[str]:
    return [line.split()[0] for line in text.splitlines() if line and not line.startswith("#")]


def test_x_recheck_then_the_summary_removes_them(tmp_path):
    arc = tmp_path / "a.jsonl"
    write_archive(arc, 250, 5)
    data = tmp_path / "data"
    first = summarize([arc], data / "s" / "summary", META)
    ids = (data / "s" / "summary" / "tweet-ids.txt").read_text().split()
    assert len(ids) == first["tweets"] == 250
    gone = [ids[3], ids[100], ids[-1]]
    with FakeXAPI(recorded_pool([arc]), token=TOKEN) as api:
        assert api.delete(gone) == 3
        rc, out, text = run(data, x_env(api, **NOW))
        lookups = [e for e in api.state.log if e["path"] == "/2/tweets"]
    assert rc == 0, out
    assert len(lookups) == math.ceil(250 / 100)
    assert all(len(e["params"]["ids"].split(",")) <= 100 for e in lookups)
    assert sorted(gone_lines(text)) == sorted(gone)
    assert f"{gone[0]}  # gone 2026-12-01 (not found)" in text
    assert text.endswith("# checked 2026-12-01: 250 posts asked, 3 gone\n")
    assert "x: 250 posts asked, 3 gone" in out
    # the next summary (the recheck file is among the search's deletions) removes them
    files = deletions.search_files("s", {}, {}, tmp_path, data=str(data.relative_to(tmp_path)))
    assert files == ["data/s/deletions-recheck.txt"]
    after = summarize([arc], tmp_path / "after", META,
                      removing=deletions.read([tmp_path / f for f in files]))
    left = (tmp_path / "after" / "tweet-ids.txt").read_text().split()
    assert not set(gone) & set(left) and after["removed"] == 250 - len(left) >= 3
    assert after["removed_checked"] == "2026-12-01"
    # a second recheck asks about none of them again and adds nothing twice
    with FakeXAPI(recorded_pool([arc]), token=TOKEN) as api:
        api.delete(gone)
        rc, out, text2 = run(data, x_env(api, DNFLOW_NOW="2026-12-02T00:00:00Z"))
    assert rc == 0 and sorted(gone_lines(text2)) == sorted(gone)
    assert text2.endswith("# checked 2026-12-02: 247 posts asked, 0 gone\n")


@pytest.mark.parametrize("fault", ["echo-400", "echo-500", "401"])
def test_x_recheck_that_fails_says_why_and_never_shows_the_token(tmp_path, fault):
    arc = tmp_path / "a.jsonl"
    write_archive(arc, 120, 5)
    data = tmp_path / "data"
    summarize([arc], data / "s" / "summary", META)
    with FakeXAPI(recorded_pool([arc]), token=TOKEN, faults=[f"1+={fault}"]) as api:
        rc, out, text = run(data, x_env(api, **NOW))
    assert rc == 1 and "x: could not ask" in out
    assert TOKEN not in out and TOKEN not in text
    assert text == "# partial check 2026-12-01: x not asked\n"


def test_bluesky_recheck_in_batches_of_25(tmp_path):
    api = make_api(90, 3)
    with api:
        uris = [e.uri for e in api.pool.snapshot()[0]][:60]
        data = tmp_path / "data"
        ids_file(data, uris)
        gone = [uris[0], uris[30], uris[59]]
        assert api.pool.remove(gone) == 3
        rc, out, text = run(data, bsky_env(api, tmp_path / "state", **NOW))
        asked = [e for e in api.state.log if e.get("path") == "/xrpc/app.bsky.feed.getPosts"]
    assert rc == 0, out
    assert [len(e["params"]["uris"]) for e in asked] == [25, 25, 10]
    assert sorted(gone_lines(text)) == sorted(gone)
    assert PASSWORD not in out + text


def test_mastodon_recheck_per_status(tmp_path):
    statuses = list(mastodon_pool(60, 7))
    hosts = sorted({s["uri"].split("/")[2] for s in statuses})
    with FakeMastodon(statuses, instances=hosts, coverage=dict.fromkeys(hosts, 0.0)) as api:
        uris = [s["uri"] for s in statuses]
        data = tmp_path / "data"
        ids_file(data, uris + ["withheld-0123456789abcdef"])
        gone = uris[:2] + uris[-1:]
        assert api.network.remove(gone) == 3
        rc, out, text = run(data, m_env(api, MASTODON_TOKEN=M_TOKEN, **NOW))
        asked = [e for e in api.state.log if "status_id" in e]
    assert rc == 0, out
    assert len(asked) == 60 and {e["status"] for e in asked} == {200, 404}
    assert sorted(gone_lines(text)) == sorted(gone)
    assert "1 posts no platform can be asked about" in out
    assert M_TOKEN not in out + text


def test_mastodon_recheck_with_an_instance_away(tmp_path):
    """A home server that cannot be asked: the others' answers are kept, the check is
    partial (no "checked" date), and its statuses are asked again next time."""
    statuses = list(mastodon_pool(60, 7))
    hosts = sorted({s["uri"].split("/")[2] for s in statuses})
    away = "hachyderm.io"
    assert away in hosts
    served = [h for h in hosts if h != away]
    with FakeMastodon(statuses, instances=served, coverage=dict.fromkeys(served, 0.0)) as api:
        uris = [s["uri"] for s in statuses]
        data = tmp_path / "data"
        ids_file(data, uris)
        gone = [u for u in uris if away not in u][:2]
        api.network.remove(gone)
        rc, out, text = run(data, m_env(api, DNFLOW_MASTODON_MAX_ATTEMPTS="2", **NOW))
    assert rc == 1
    assert sorted(gone_lines(text)) == sorted(gone)
    assert "# partial check 2026-12-01: mastodon not asked" in text
    assert deletions.read([data / "s" / deletions.RECHECK_FILE]).checked is None


def test_recheck_without_a_summary(tmp_path):
    rc, out, _ = run(tmp_path / "data", NOW)
    assert rc == 2 and "run snakemake first" in out


def test_cli_recheck(tmp_path, monkeypatch, capsys):
    """``dnflow recheck SLUG``: the search must exist in the config; the environment
    gives the credentials and the fake's URL."""
    from dnflow import cli

    arc = tmp_path / "a.jsonl"
    write_archive(arc, 120, 5)
    (tmp_path / "searches.yaml").write_text(
        f"searches:\n  s: {{source: archive, files: {arc}}}\n")
    summarize([arc], tmp_path / "data" / "s" / "summary", META)
    monkeypatch.chdir(tmp_path)
    with FakeXAPI(recorded_pool([arc]), token=TOKEN) as api:
        gone = api.pool.snapshot()[0][0].id
        api.delete([gone])
        for k, v in x_env(api, **NOW).items():
            monkeypatch.setenv(k, v)
        assert cli.main(["recheck", "s", "--config", "searches.yaml"]) == 0
        with pytest.raises(SystemExit, match="no search named nope"):
            cli.main(["recheck", "nope", "--config", "searches.yaml"])
    assert f"{gone}  # gone 2026-12-01" in (tmp_path / "data/s/deletions-recheck.txt").read_text()
    assert TOKEN not in capsys.readouterr().out
