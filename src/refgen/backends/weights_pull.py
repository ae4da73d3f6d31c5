"""Download a preset's weights into the models folder, and verify every file's checksum.

From a hub (``huggingface_hub``; the Hugging Face Hub, or a mirror at ``endpoint``/``HF_ENDPOINT``):
the revision is resolved to a commit first, so every file comes from the same commit; files go to
``<models dir>/<source folder>`` through ``snapshot_download(local_dir=...)``, which resumes partial
files and skips finished ones; then every file is hashed and compared with the hub's listing (the
SHA-256 of LFS files, the git blob SHA-1 of the others). A manifest, ``refgen-pull.json``, records
the repository, the commit and each file's size and checksum.

From a local folder (``from_dir``: one written by a pull on another machine, e.g. on a disk carried
to a machine without network): the files its manifest lists are copied (those already present with
the right checksum are skipped) and verified against that manifest.

A file whose checksum differs is removed and reported: a re-run downloads it again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from refgen.backends.presets import HubSource, Preset
from refgen.errors import RefgenError

MANIFEST = "refgen-pull.json"
CHUNK = 8 * 1024 * 1024


class PullError(RefgenError):
    """The weights could not be pulled."""


@dataclass(frozen=True)
class FileSum:
    path: str
    size: int
    sha256: str | None = None  # LFS files: the content's SHA-256
    git_sha1: str | None = None  # other files: the git blob id

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass(frozen=True)
class Pulled:
    source: HubSource
    folder: Path
    commit: str
    files: tuple[FileSum, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


Progress = Callable[[int], None]  # bytes done since the last call


def sources_of(preset: Preset, revision: str | None) -> list[HubSource]:
    """The preset's sources, the first (the pipeline) at ``revision`` when one is given."""
    first, *rest = preset.sources
    if revision:
        first = HubSource(first.repo, first.folder, revision, first.allow_patterns, first.licence)
    return [first, *rest]


# ---------------------------------------------------------------- checksums


def git_blob_sha1(handle: BinaryIO, size: int, progress: Progress | None = None) -> str:
    digest = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    return _feed(digest, handle, progress)


def sha256(handle: BinaryIO, progress: Progress | None = None) -> str:
    return _feed(hashlib.sha256(), handle, progress)


def _feed(digest: Any, handle: BinaryIO, progress: Progress | None) -> str:
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        if progress:
            progress(len(chunk))
    return str(digest.hexdigest())


def matches(path: Path, expected: FileSum, progress: Progress | None = None) -> bool:
    """Whether the file at ``path`` has ``expected``'s size and checksum."""
    if not path.is_file() or path.stat().st_size != expected.size:
        return False
    with path.open("rb") as handle:
        if expected.sha256:
            return sha256(handle, progress) == expected.sha256
        return git_blob_sha1(handle, expected.size, progress) == expected.git_sha1


def verify(folder: Path, files: Iterable[FileSum], progress: Progress | None = None) -> list[str]:
    """The paths (relative to ``folder``) that are missing or differ from ``files``; those are removed."""
    bad = []
    for expected in files:
        path = folder / expected.path
        if not matches(path, expected, progress):
            bad.append(expected.path)
            path.unlink(missing_ok=True)
    return bad


def write_manifest(pulled: Pulled) -> None:
    body = {
        "repo": pulled.source.repo,
        "revision": pulled.source.revision,
        "commit": pulled.commit,
        "files": [f.to_json() for f in pulled.files],
    }
    (pulled.folder / MANIFEST).write_text(json.dumps(body, indent=1) + "\n")


def read_manifest(folder: Path) -> tuple[str, tuple[FileSum, ...]] | None:
    """``(commit, files)`` of a pulled folder, or None when it has no manifest."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        body = json.loads(path.read_text())
        return str(body["commit"]), tuple(FileSum(**f) for f in body["files"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PullError(f"{path}: not a valid manifest ({exc})") from None


# ---------------------------------------------------------------- from a hub


def hub_listing(source: HubSource, *, endpoint: str | None) -> tuple[str, tuple[FileSum, ...]]:
    """``(commit, files)`` of ``source`` on the hub: the revision resolved, the files it selects."""
    hub = _hub()
    api = hub.HfApi(endpoint=endpoint)
    try:
        commit = api.repo_info(source.repo, revision=source.revision).sha
        entries = api.list_repo_tree(source.repo, recursive=True, revision=commit)
        files = [
            FileSum(
                e.path,
                int(e.size),
                sha256=e.lfs.sha256 if e.lfs else None,
                git_sha1=None if e.lfs else e.blob_id,
            )
            for e in entries
            if isinstance(e, hub.hf_api.RepoFile)
        ]
    except (hub.errors.HfHubHTTPError, OSError) as exc:
        raise PullError(f"{source.repo}@{source.revision}: {exc}") from None
    patterns = list(source.allow_patterns) if source.allow_patterns else None
    chosen = hub.utils.filter_repo_objects(files, allow_patterns=patterns, key=lambda f: f.path)
    return str(commit), tuple(sorted(chosen, key=lambda f: f.path))


def pull_from_hub(
    source: HubSource,
    models_dir: Path,
    *,
    endpoint: str | None,
    progress_bars: bool = True,
    verifying: Progress | None = None,
) -> Pulled:
    """Download ``source`` (resuming and skipping what is there) and verify every file; ``verifying``
    is told the bytes hashed."""
    hub = _hub()
    commit, files = hub_listing(source, endpoint=endpoint)
    folder = models_dir / source.folder
    folder.mkdir(parents=True, exist_ok=True)
    if not progress_bars:
        hub.utils.disable_progress_bars()
    try:
        hub.snapshot_download(
            source.repo,
            revision=commit,
            local_dir=folder,
            allow_patterns=[f.path for f in files],
            endpoint=endpoint,
        )
    except (hub.errors.HfHubHTTPError, OSError) as exc:
        raise PullError(f"{source.repo}@{commit}: {exc} (run the pull again to resume)") from None
    finally:
        if not progress_bars:
            hub.utils.enable_progress_bars()
    _check(verify(folder, files, verifying), f"{source.repo}@{commit}")
    pulled = Pulled(source, folder, commit, files)
    write_manifest(pulled)
    return pulled


def _hub() -> Any:
    try:
        import huggingface_hub
        import huggingface_hub.errors
        import huggingface_hub.hf_api
        import huggingface_hub.utils
    except ImportError:
        raise PullError("pulling weights needs huggingface_hub: pip install 'refgen[hub]'") from None
    return huggingface_hub


# ---------------------------------------------------------------- from a local folder


def local_source_folder(source: HubSource, from_dir: Path) -> Path:
    """Where ``source`` is inside ``from_dir``: ``<from>/<folder>`` (a models folder), ``<from>/<repo>``
    (a mirror laid out by repository) or ``<from>`` itself; the first that has a manifest."""
    for candidate in (from_dir / source.folder, from_dir / source.repo, from_dir):
        if (candidate / MANIFEST).is_file():
            return candidate
    raise PullError(
        f"{from_dir}: no {MANIFEST} for {source.repo} in {source.folder}/, {source.repo}/ or the folder "
        "itself; --from takes a folder written by `refgen models pull` (its manifest has the checksums)"
    )


def pull_from_folder(
    source: HubSource, models_dir: Path, from_dir: Path, *, progress: Progress | None = None
) -> Pulled:
    """Copy ``source``'s files from a folder pulled elsewhere, verifying each against its manifest."""
    origin = local_source_folder(source, from_dir)
    listing = read_manifest(origin)
    assert listing is not None
    commit, files = listing
    folder = models_dir / source.folder
    bad = []
    for expected in files:
        target = folder / expected.path
        if not matches(target, expected):  # in place (the same folder) or already copied: kept
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".incomplete")
            with (origin / expected.path).open("rb") as src, partial.open("wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
            partial.replace(target)
            bad.extend(verify(folder, [expected]))
        if progress:
            progress(expected.size)
    _check(bad, str(origin))
    pulled = Pulled(source, folder, commit, files)
    write_manifest(pulled)
    return pulled


def _check(bad: list[str], where: str) -> None:
    if bad:
        raise PullError(
            f"{where}: {len(bad)} file(s) missing or with a wrong checksum, removed: {', '.join(bad[:5])}"
            + (" …" if len(bad) > 5 else "")
            + "; run the pull again"
        )
