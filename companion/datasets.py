r"""Full data sets on demand: fetched once from the official source, SHA-256 checked, cached.

The book builds and tests offline: every chapter's default (``small``) configuration uses data
that ``companion`` generates or that a package ships. Only a notebook running at
``COMPANION_SCALE=full`` calls :func:`fetch`, and only a file that is absent is downloaded.

* Files live in ``<data home>/<data set>/<path>``, where the data home is ``COMPANION_DATA``
  when set, else the user cache directory (``$XDG_CACHE_HOME/companion`` or
  ``~/.cache/companion`` on Linux, ``~/Library/Caches/companion`` on macOS,
  ``%LOCALAPPDATA%\companion`` on Windows); :func:`dataset_dir` gives the folder.
* A download is streamed into a temporary file beside its target, hashed on the way, and
  moved into place only when its SHA-256 equals the pinned value: a corrupted or interrupted
  download leaves nothing behind.
* A file whose publisher gives no checksum, and none could be verified independently, has
  ``sha256=None``: :func:`fetch` never downloads it (pinning a hash taken from the download
  itself would check nothing) and says how to place it by hand instead.

>>> mnist = fetch("mnist")  # doctest: +SKIP
>>> x, y = companion.lie.data.load_mnist_idx(mnist, "train")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import utils

__all__ = ["Remote", "Dataset", "DATASETS", "DownloadError", "data_home", "dataset_dir", "fetch"]

_CHUNK = 1 << 16


@dataclass(frozen=True)
class Remote:
    """One file of a data set.

    Attributes:
        path: where the file lives inside the data set's folder (``/``-separated), which is
            where the data set's loader reads it.
        urls: where to get it, the official source first, then mirrors (tried in order).
        sha256: the pinned SHA-256 of what is downloaded (hex), or ``None`` where no checksum
            could be verified; such a file is never downloaded.
        size: the pinned size in bytes of what is downloaded, or ``None``.
        member: for a zip download, the archive member that becomes ``path``; ``None`` when
            the download is the file itself.
    """

    path: str
    urls: tuple[str, ...]
    sha256: str | None
    size: int | None = None
    member: str | None = None


@dataclass(frozen=True)
class Dataset:
    """A named data set: its files, its home page, and what to tell a reader who places it."""

    name: str
    homepage: str
    files: tuple[Remote, ...]


# MNIST: the four IDX files of yann.lecun.com/exdb/mnist. That page gives their sizes; the
# SHA-256 values are the ones pinned independently by TensorFlow's and PyTorch's mirrors
# (storage.googleapis.com/cvdf-datasets, ossci-datasets.s3.amazonaws.com), whose copies are
# byte-identical (same MD5 as torchvision's pins). The official host has refused downloads
# at times, hence the mirrors; the hash makes the source irrelevant to what is cached.
_MNIST_HOSTS = (
    "https://yann.lecun.com/exdb/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_MNIST = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        9_912_422,
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        28_881,
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        1_648_877,
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        4_542,
    ),
}

# affNIST (www.cs.toronto.edu/~tijmen/affNIST/): one zipped MATLAB file per split. Its page
# publishes no checksums or sizes, and no independent record of them was found, so none is
# pinned: fetch() refuses to download these and asks for the files to be placed by hand.
# To enable the download, pin sha256/size of each .zip from a trusted copy.
_AFFNIST_URL = "https://www.cs.toronto.edu/~tijmen/affNIST/32x/"
_AFFNIST = (
    "just_centered/training.mat",
    "just_centered/validation.mat",
    "just_centered/test.mat",
    "transformed/validation.mat",
    "transformed/test.mat",
)

DATASETS: dict[str, Dataset] = {
    "mnist": Dataset(
        "mnist",
        "https://yann.lecun.com/exdb/mnist/",
        tuple(
            Remote(name, tuple(h + name for h in _MNIST_HOSTS), sha, size)
            for name, (sha, size) in _MNIST.items()
        ),
    ),
    "affnist": Dataset(
        "affnist",
        "https://www.cs.toronto.edu/~tijmen/affNIST/",
        tuple(
            Remote(p, (f"{_AFFNIST_URL}{p}.zip",), None, None, member=p.rsplit("/", 1)[1])
            for p in _AFFNIST
        ),
    ),
}


class DownloadError(OSError):
    """A file could not be fetched (no network, refused, corrupted or cut short); nothing was
    cached. The message says how to place the file by hand."""


def data_home() -> Path:
    """The folder holding one sub-folder per data set: ``COMPANION_DATA``, else the user cache."""
    env = os.environ.get("COMPANION_DATA", "").strip()
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "companion"


def _dataset(dataset: str | Dataset) -> Dataset:
    if isinstance(dataset, Dataset):
        return dataset
    if not isinstance(dataset, str):
        raise TypeError(f"dataset must be a name or a Dataset, got {type(dataset).__name__}")
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {sorted(DATASETS)}, got {dataset!r}")
    return DATASETS[dataset]


def dataset_dir(dataset: str | Dataset, root: str | os.PathLike | None = None) -> Path:
    """The folder of ``dataset`` (a name in ``DATASETS``): ``root``, else
    ``data_home() / name``. Nothing is created or checked."""
    ds = _dataset(dataset)
    if root is None:
        return data_home() / ds.name
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a path (str or os.PathLike), got {type(root).__name__}")
    return Path(root).expanduser()


def _by_hand(ds: Dataset, folder: Path, missing: list[Remote]) -> str:
    lines = "\n".join(f"  {folder / f.path}   <- {f.urls[0]}" for f in missing)
    unzip = any(f.member for f in missing)
    return (
        f"To place the {ds.name} files by hand (see {ds.homepage}), put\n{lines}\n"
        + ("(unzip each .zip; the file inside is the one to place)\n" if unzip else "")
        + "or set COMPANION_DATA to a folder holding "
        + f"{ds.name}/<these paths>, then run again."
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _bar(total: int | None, desc: str):  # -> tqdm
    from tqdm.auto import tqdm

    quiet = utils.in_book_build() or os.environ.get("CI", "").lower() in ("1", "true")
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, disable=quiet, leave=False)


def _chunks(response) -> Iterator[bytes]:
    while chunk := response.read(_CHUNK):
        yield chunk


def _download(url: str, tmp: Path, remote: Remote, timeout: float) -> None:
    """Stream ``url`` into ``tmp`` and check its size and SHA-256; raise on any mismatch."""
    h = hashlib.sha256()
    n = 0
    with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
        length = response.headers.get("Content-Length")
        total = remote.size or (int(length) if length and length.isdigit() else None)
        with _bar(total, Path(remote.path).name) as bar:
            for chunk in _chunks(response):
                out.write(chunk)
                h.update(chunk)
                n += len(chunk)
                bar.update(len(chunk))
    if length and length.isdigit() and n != int(length):
        raise DownloadError(f"cut short: {n} of {length} bytes")
    if remote.size is not None and n != remote.size:
        raise DownloadError(f"size {n} bytes, expected {remote.size}")
    if h.hexdigest() != remote.sha256:
        raise DownloadError(f"SHA-256 mismatch: got {h.hexdigest()}, expected {remote.sha256}")


def _fetch_one(ds: Dataset, folder: Path, remote: Remote, timeout: float) -> None:
    target = folder / remote.path
    target.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in remote.urls:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        os.close(fd)
        tmp = Path(name)
        try:
            _download(url, tmp, remote, timeout)
            if remote.member is not None:
                with zipfile.ZipFile(tmp) as zf, zf.open(remote.member) as src:
                    extracted = tmp.with_suffix(".unzipped")
                    try:
                        with open(extracted, "wb") as out:
                            for chunk in iter(lambda: src.read(_CHUNK), b""):
                                out.write(chunk)
                        os.replace(extracted, target)
                    finally:
                        extracted.unlink(missing_ok=True)
            else:
                os.replace(tmp, target)
            return
        except Exception as err:  # URLError, IncompleteRead, BadZipFile, DownloadError, ...
            # any failure moves on to the next URL; the finally clause removes the part file
            failures.append(f"  {url}: {type(err).__name__}: {err}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DownloadError(
        f"could not fetch {ds.name} file {remote.path}; nothing was cached.\n"
        + "\n".join(failures)
        + "\n"
        + _by_hand(ds, folder, [remote])
    )


def fetch(
    dataset: str | Dataset,
    root: str | os.PathLike | None = None,
    *,
    paths: Iterable[str] | None = None,
    verify: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Make sure every file of ``dataset`` is in its folder, downloading what is absent.

    Args:
        dataset: a name in ``DATASETS`` (``"mnist"``, ``"affnist"``) or a :class:`Dataset`.
        root: the data set's folder; default :func:`dataset_dir` (``COMPANION_DATA`` or the
            user cache, then the data set's name).
        paths: only these files of the data set (their ``Remote.path``); default all. A
            gunzipped copy of a ``.gz`` file (the same path without ``.gz``) counts as present.
        verify: also check the SHA-256 of files already present (where one is pinned and
            the file is the download itself, not a member extracted from a zip); a file
            that fails is reported, never deleted.
        timeout: seconds to wait for a server before trying the next URL.

    Returns the folder, for the data set's loader (e.g. ``load_mnist_idx(fetch("mnist"))``).

    Raises:
        DownloadError: a file is absent and could not be downloaded (no network, every URL
            failed, the checksum or size did not match) or may not be (no pinned checksum).
            Nothing partial is left behind; the message says where to place the files by hand.
        ValueError: a file present does not match its pinned checksum (``verify=True``).
    """
    ds = _dataset(dataset)
    folder = dataset_dir(ds, root)
    if not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    files = ds.files
    if paths is not None:
        if isinstance(paths, str):
            raise TypeError("paths must be a list of file paths, not a single string")
        known = {f.path: f for f in ds.files}
        unknown = sorted(set(paths) - set(known))
        if unknown:
            raise ValueError(f"paths {unknown} are not files of {ds.name}: {sorted(known)}")
        files = tuple(known[p] for p in dict.fromkeys(paths))
    # a gunzipped copy of a .gz file counts as present (the loaders read either), unverified
    unzipped = [f for f in files if f.path.endswith(".gz") and (folder / f.path[:-3]).is_file()]
    missing = [f for f in files if not (folder / f.path).is_file() and f not in unzipped]
    if verify:
        for f in files:
            path = folder / f.path
            if f.sha256 is not None and f.member is None and path.is_file():
                got = _sha256(path)
                if got != f.sha256:
                    raise ValueError(
                        f"{path} is not the published file (SHA-256 {got}, expected "
                        f"{f.sha256}): delete it to download it again"
                    )
    unpinned = [f for f in missing if f.sha256 is None]
    if unpinned:
        raise DownloadError(
            f"{ds.name}: no verified checksum is pinned for {len(unpinned)} missing file(s), "
            "so they are not downloaded.\n" + _by_hand(ds, folder, unpinned)
        )
    for f in missing:
        _fetch_one(ds, folder, f, float(timeout))
    return folder
