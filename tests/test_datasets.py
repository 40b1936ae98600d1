"""companion.datasets against a local HTTP server on 127.0.0.1 serving tiny generated files.

The unit tests run with sockets disabled (pytest-socket); these tests open them for
127.0.0.1 only, so nothing here can reach the internet.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import io
import socket
import threading
import zipfile

import numpy as np
import pytest
import torch

from companion import datasets as DS
from companion.lie import data as D


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files[path] = (body, mode)``; mode ``"cut"`` sends half the body under
    a Content-Length for all of it, then closes the connection."""

    def do_GET(self):  # noqa: N802 (the http.server API)
        self.server.requests.append(self.path)
        if self.path not in self.server.files:
            self.send_error(404)
            return
        body, mode = self.server.files[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "cut":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.requests = {}, []
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connections are refused
    return port


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _spec(urls, body: bytes, path="sub/file.bin", member=None) -> DS.Dataset:
    remote = DS.Remote(path, tuple(urls), _sha(body), len(body), member)
    return DS.Dataset("toy", "https://example.invalid/toy", (remote,))


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


BODY = bytes(range(256)) * 40  # 10 kB: several chunks of the progress bar


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_good_file_is_cached_and_not_fetched_again(server, tmp_path):
    server.files["/a.bin"] = (BODY, "ok")
    spec = _spec([server.url + "/a.bin"], BODY)
    folder = DS.fetch(spec, tmp_path / "toy")
    assert folder == tmp_path / "toy"
    assert (folder / "sub" / "file.bin").read_bytes() == BODY
    assert _files(folder) == ["sub/file.bin"]  # no part file left
    assert DS.fetch(spec, folder) == folder
    assert server.requests == ["/a.bin"]  # the second call found the file


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_corrupted_file_raises_and_caches_nothing(server, tmp_path):
    bad = bytearray(BODY)
    bad[100] ^= 1
    server.files["/a.bin"] = (bytes(bad), "ok")
    spec = _spec([server.url + "/a.bin"], BODY)
    with pytest.raises(DS.DownloadError, match="SHA-256 mismatch") as err:
        DS.fetch(spec, tmp_path / "toy")
    assert "nothing was cached" in str(err.value) and "by hand" in str(err.value)
    assert _files(tmp_path) == []


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_interrupted_download_leaves_no_partial_file(server, tmp_path):
    server.files["/a.bin"] = (BODY, "cut")
    spec = _spec([server.url + "/a.bin"], BODY)
    with pytest.raises(DS.DownloadError, match="could not fetch toy file sub/file.bin"):
        DS.fetch(spec, tmp_path / "toy")
    assert _files(tmp_path) == []


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_no_network_says_how_to_place_the_files_by_hand(tmp_path):
    spec = _spec([f"http://127.0.0.1:{_closed_port()}/a.bin"], BODY)
    with pytest.raises(DS.DownloadError) as err:
        DS.fetch(spec, tmp_path / "toy", timeout=5)
    msg = str(err.value)
    assert "URLError" in msg and "place the toy files by hand" in msg
    assert str(tmp_path / "toy" / "sub" / "file.bin") in msg and "COMPANION_DATA" in msg
    assert _files(tmp_path) == []


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_a_bad_source_falls_through_to_the_next_url(server, tmp_path):
    server.files["/bad.bin"] = (BODY[:-1] + b"x", "ok")
    server.files["/good.bin"] = (BODY, "ok")
    spec = _spec(
        [server.url + "/missing.bin", server.url + "/bad.bin", server.url + "/good.bin"], BODY
    )
    folder = DS.fetch(spec, tmp_path / "toy")
    assert (folder / "sub" / "file.bin").read_bytes() == BODY
    assert server.requests == ["/missing.bin", "/bad.bin", "/good.bin"]


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_zip_member_is_extracted_after_the_archive_is_checked(server, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("inner.mat", BODY)
        zf.writestr("other.txt", b"not this one")
    archive = buf.getvalue()
    server.files["/a.mat.zip"] = (archive, "ok")
    spec = _spec([server.url + "/a.mat.zip"], archive, path="split/a.mat", member="inner.mat")
    folder = DS.fetch(spec, tmp_path / "toy")
    assert _files(folder) == ["split/a.mat"]
    assert (folder / "split" / "a.mat").read_bytes() == BODY


def test_unpinned_file_is_never_downloaded(tmp_path):
    # No socket is opened (sockets stay disabled here): the refusal comes first.
    spec = _spec(["http://127.0.0.1:9/a.bin"], BODY)
    spec = dataclasses.replace(spec, files=(dataclasses.replace(spec.files[0], sha256=None),))
    with pytest.raises(DS.DownloadError, match="no verified checksum") as err:
        DS.fetch(spec, tmp_path / "toy")
    assert str(tmp_path / "toy" / "sub" / "file.bin") in str(err.value)
    # placed by hand, it is accepted as is
    (tmp_path / "toy" / "sub").mkdir(parents=True)
    (tmp_path / "toy" / "sub" / "file.bin").write_bytes(b"anything")
    assert DS.fetch(spec, tmp_path / "toy") == tmp_path / "toy"


def test_affnist_is_refused_with_instructions(tmp_path):
    with pytest.raises(DS.DownloadError, match="no verified checksum") as err:
        DS.fetch("affnist", tmp_path)
    msg = str(err.value)
    assert "unzip" in msg and "transformed/test.mat" in msg and "tijmen/affNIST" in msg


def test_paths_selects_the_files_a_notebook_needs(tmp_path):
    wanted = ["just_centered/test.mat", "transformed/test.mat"]
    with pytest.raises(DS.DownloadError, match="2 missing file") as err:
        DS.fetch("affnist", tmp_path, paths=wanted)
    assert "training.mat" not in str(err.value)
    for p in wanted:
        (tmp_path / p).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / p).write_bytes(b"placed by hand")
    assert DS.fetch("affnist", tmp_path, paths=wanted) == tmp_path
    with pytest.raises(DS.DownloadError):  # the other files are still absent
        DS.fetch("affnist", tmp_path)
    with pytest.raises(ValueError, match="not files of affnist"):
        DS.fetch("affnist", tmp_path, paths=["test.mat"])
    with pytest.raises(TypeError, match="paths"):
        DS.fetch("affnist", tmp_path, paths="transformed/test.mat")


def test_gunzipped_copies_count_as_present(tmp_path):
    # MNIST placed by hand, uncompressed: nothing to download (sockets stay disabled here)
    for f in DS.DATASETS["mnist"].files:
        (tmp_path / f.path.removesuffix(".gz")).write_bytes(b"placed by hand")
    assert DS.fetch("mnist", tmp_path) == tmp_path


def test_present_file_is_verified(tmp_path):
    spec = _spec(["http://127.0.0.1:9/a.bin"], BODY)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "file.bin").write_bytes(BODY[:-1])
    with pytest.raises(ValueError, match="not the published file"):
        DS.fetch(spec, tmp_path)
    assert DS.fetch(spec, tmp_path, verify=False) == tmp_path
    assert (tmp_path / "sub" / "file.bin").exists()  # reported, never deleted


def test_mnist_pins_match_the_official_sizes():
    # Sizes as listed on yann.lecun.com/exdb/mnist; every pin is a full SHA-256.
    files = {f.path: f for f in DS.DATASETS["mnist"].files}
    assert {k: f.size for k, f in files.items()} == {
        "train-images-idx3-ubyte.gz": 9912422,
        "train-labels-idx1-ubyte.gz": 28881,
        "t10k-images-idx3-ubyte.gz": 1648877,
        "t10k-labels-idx1-ubyte.gz": 4542,
    }
    for f in files.values():
        assert len(f.sha256) == 64 and int(f.sha256, 16) >= 0
        assert f.urls[0].startswith("https://yann.lecun.com/exdb/mnist/")
    assert set(D.MNIST_FILES["train"]) | set(D.MNIST_FILES["test"]) == {
        p.removesuffix(".gz") for p in files
    }
    affnist = DS.DATASETS["affnist"].files
    assert {f.path for f in affnist} == set(D.AFFNIST_FILES.values())
    assert all(f.sha256 is None for f in affnist)


def test_data_home_and_dataset_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_DATA", str(tmp_path))
    assert DS.data_home() == tmp_path
    assert DS.dataset_dir("mnist") == tmp_path / "mnist"
    assert DS.dataset_dir("mnist", tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("COMPANION_DATA")
    assert DS.data_home().name == "companion"


def test_bad_arguments():
    with pytest.raises(TypeError, match="dataset"):
        DS.fetch(3)
    with pytest.raises(ValueError, match="dataset must be one of"):
        DS.fetch("cifar-1000")
    with pytest.raises(TypeError, match="root"):
        DS.dataset_dir("mnist", 3)
    with pytest.raises(ValueError, match="timeout"):
        DS.fetch("mnist", timeout=0)
    with pytest.raises(ValueError, match="timeout"):
        DS.fetch("mnist", timeout=float("nan"))


def _idx(arr: np.ndarray, magic: int) -> bytes:
    head = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return gzip.compress(head + arr.astype(np.uint8).tobytes(), mtime=0)


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_mnist_fetch_feeds_the_chapter_2_loader(server, tmp_path, monkeypatch):
    # The real MNIST spec, pointed at tiny files on the local server: fetch() puts them where
    # load_mnist_idx() reads them by default (COMPANION_DATA/mnist).
    rng = np.random.default_rng(0)
    images = {"train": rng.integers(0, 256, (5, 28, 28)), "test": rng.integers(0, 256, (3, 28, 28))}
    labels = {"train": np.arange(5) % 10, "test": np.array([7, 2, 1])}
    remotes = []
    for split, (img_name, lab_name) in D.MNIST_FILES.items():
        for name, body in (
            (img_name, _idx(images[split], 2051)),
            (lab_name, _idx(labels[split], 2049)),
        ):
            server.files[f"/{name}.gz"] = (body, "ok")
            remotes.append(
                DS.Remote(f"{name}.gz", (f"{server.url}/{name}.gz",), _sha(body), len(body))
            )
    spec = dataclasses.replace(DS.DATASETS["mnist"], files=tuple(remotes))
    monkeypatch.setenv("COMPANION_DATA", str(tmp_path))
    folder = DS.fetch(spec)
    assert folder == tmp_path / "mnist"
    x, y = D.load_mnist_idx(split="test")
    assert x.shape == (3, 1, 28, 28) and y.tolist() == [7, 2, 1]
    assert torch.equal(x[:, 0], torch.from_numpy(images["test"].astype(np.float32) / 255))
