"""The client commands of the installed ``refgen``, in subprocesses, against a real server."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from refgen.media.video import probe
from tests.acceptance.conftest import REFGEN, RunningServer
from tests.images import picture

pytestmark = pytest.mark.slow


def refgen(
    server: RunningServer, *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    environment = {**server.env, "REFGEN_BASE_URL": server.base_url, "REFGEN_API_KEY": server.token}
    environment.update(env or {})
    return subprocess.run([REFGEN, *args], env=environment, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def pictures(tmp_path: Path) -> list[Path]:
    a, b = tmp_path / "a.png", tmp_path / "b.jpg"
    a.write_bytes(picture(640, 480, colour=(220, 40, 40)))
    b.write_bytes(picture(480, 640, colour=(40, 70, 220), fmt="JPEG"))
    return [a, b]


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    [line] = lines
    assert line.startswith("error: ") and "Traceback" not in result.stderr
    return line


def test_cli_video_from_two_local_images_writes_an_mp4(
    refgen_server: RunningServer, pictures: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    args = ["video", "--image", str(pictures[0]), "--image", str(pictures[1])]
    result = refgen(refgen_server, *args, "--prompt", "two balloons", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    info = probe(out)
    assert (info.codec, info.width, info.height, info.frame_count) == ("h264", 640, 360, 96)
    # plain progress lines (stderr is not a terminal): created, the final state, saved; whether a
    # "processing" line shows depends on how fast the render is, so it is not asserted
    lines = result.stderr.splitlines()
    assert len(lines) >= 3 and "created" in lines[0] and "success 100%" in result.stderr


def test_cli_video_every_option_with_json(
    refgen_server: RunningServer, pictures: list[Path], picture_host: tuple[str, Path], tmp_path: Path
) -> None:
    base, folder = picture_host
    (folder / "c.png").write_bytes(picture(300, 300, colour=(40, 160, 60)))
    mark = tmp_path / "mark.png"
    mark.write_bytes(picture(200, 200, colour=(0, 0, 0)))
    result = refgen(
        refgen_server,
        "video",
        "--model", "vidu1.5",
        "--image", str(pictures[0]),
        "--image", str(pictures[1]),
        "--image", f"{base}/c.png",
        "--prompt", "three balloons",
        "--duration", "4",
        "--resolution", "720p",
        "--aspect-ratio", "9:16",
        "--movement-amplitude", "small",
        "--bgm",
        "--seed", "7",
        "--no-off-peak",
        "--watermark",
        "--wm-position", "1",
        "--wm-url", str(mark),
        "--payload", "my payload",
        "--callback-url", "http://127.0.0.1:9/hook",
        "--meta-data", "meta",
        "--json",
        "-o", f"{tmp_path / 'videos'}/",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["state"] == "success" and body["bgm"] is True and body["payload"] == "my payload"
    assert body["credits"] == 10 and body["creations"][0]["watermarked_url"]
    saved = Path(body["output"])
    assert saved.parent == tmp_path / "videos" and saved.suffix == ".mp4"
    info = probe(saved)
    assert (info.width, info.height, info.has_audio) == (720, 1280, True)


def test_cli_no_wait_then_status_and_download(
    refgen_server: RunningServer, pictures: list[Path], tmp_path: Path
) -> None:
    created = refgen(refgen_server, "image", "--image", str(pictures[0]), "--prompt", "a poster", "--no-wait")
    assert created.returncode == 0, created.stderr
    task_id = created.stdout.strip()
    assert len(task_id.splitlines()) == 1 and task_id

    deadline = time.monotonic() + 120
    while True:
        status = refgen(refgen_server, "status", task_id, "--json")
        assert status.returncode == 0, status.stderr
        body = json.loads(status.stdout)
        if body["state"] == "success":
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.3)
    human = refgen(refgen_server, "status", task_id)
    assert human.stdout.startswith(f"{task_id}: success 100%") and "url: http" in human.stdout

    saved = refgen(refgen_server, "download", task_id, "-o", str(tmp_path / "poster.png"))
    assert saved.returncode == 0, saved.stderr
    assert (tmp_path / "poster.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cover = refgen(refgen_server, "download", task_id, "--file", "cover", "-o", str(tmp_path), "--json")
    assert cover.returncode == 0, cover.stderr
    cover_path = Path(json.loads(cover.stdout)["output"])
    assert cover_path.parent == tmp_path and cover_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_two_results_into_one_folder_never_overwrite(
    refgen_server: RunningServer, pictures: list[Path], tmp_path: Path
) -> None:
    folder = f"{tmp_path / 'posters'}/"
    saved = []
    for colour in pictures:
        made = refgen(refgen_server, "image", "--image", str(colour), "--prompt", "a poster", "-o", folder)
        assert made.returncode == 0, made.stderr
        saved.append(Path(made.stdout.strip()))
    assert len(set(saved)) == 2 and all(p.parent == tmp_path / "posters" for p in saved)
    task_ids = [p.stem for p in saved]
    assert [p.name for p in saved] == [f"{t}.png" for t in task_ids]

    again = refgen(refgen_server, "download", task_ids[0], "-o", folder)
    last = again.stderr.strip().splitlines()[-1]  # after the task's state line
    assert again.returncode == 2 and last.startswith(f"error: {saved[0]} exists") and "--force" in last
    saved[0].write_bytes(b"mine")
    forced = refgen(refgen_server, "download", task_ids[0], "-o", folder, "--force")
    assert forced.returncode == 0, forced.stderr
    assert saved[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cover = refgen(refgen_server, "download", task_ids[1], "--file", "cover", "-o", folder, "--no-wait")
    assert cover.returncode == 0 and Path(cover.stdout.strip()).name.startswith(f"{task_ids[1]}-cover.")


def test_cli_no_wait_json_and_vidu_variables(refgen_server: RunningServer, pictures: list[Path]) -> None:
    env = {
        "REFGEN_BASE_URL": "",
        "REFGEN_API_KEY": "",
        "VIDU_API_HOST": f"127.0.0.1:{refgen_server.port}",
        "VIDU_API_KEY": refgen_server.token,
    }
    args = ["video", "--image", str(pictures[0]), "--prompt", "p", "--seed", "5", "--no-wait", "--json"]
    result = refgen(refgen_server, *args, env=env)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["state"] == "created" and body["seed"] == 5 and body["model"] == "vidu2.0"
    assert body["images"][0].startswith("data:image/png;base64,…(")  # shortened, not the whole upload


def test_cli_errors_are_one_line_with_kind_specific_exit_codes(
    refgen_server: RunningServer, pictures: list[Path]
) -> None:
    bad_key = refgen(
        refgen_server,
        "video",
        "--image",
        str(pictures[0]),
        "--prompt",
        "x",
        env={"REFGEN_API_KEY": "rg_wrong"},
    )
    line = one_error_line(bad_key)
    assert bad_key.returncode == 3 and "Unauthorized" in line and "trace_id" in line

    eight = refgen(
        refgen_server, "video", *[a for _ in range(8) for a in ("--image", str(pictures[0]))], "--prompt", "x"
    )
    line = one_error_line(eight)
    assert (
        eight.returncode == 5
        and "FieldItemCountOutOfRange" in line
        and "images" in line
        and "trace_id" in line
    )

    for command in ("status", "cancel", "download"):
        unknown = refgen(refgen_server, command, "0123456789abcdef")
        line = one_error_line(unknown)
        assert unknown.returncode == 4 and "TaskNotFound" in line and "trace_id" in line, (command, line)

    missing_file = refgen(refgen_server, "video", "--image", "no-such.png", "--prompt", "x")
    assert missing_file.returncode == 2 and "no-such.png" in one_error_line(missing_file)

    no_server = refgen(refgen_server, "status", "abc", env={"REFGEN_BASE_URL": "http://127.0.0.1:9"})
    assert no_server.returncode == 8 and "could not reach" in one_error_line(no_server)

    as_json = refgen(refgen_server, "status", "abc", "--json")
    assert as_json.returncode == 4 and json.loads(as_json.stdout)["error"]["reason"] == "TaskNotFound"


def test_cli_cancel_timeout_and_failed_task(refgen_server: RunningServer, pictures: list[Path]) -> None:
    long_video = [
        "video",
        "--model",
        "vidu1.5",
        "--resolution",
        "720p",
        "--duration",
        "8",
        "--image",
        str(pictures[0]),
    ]
    # --timeout 0: the first answer (the task just created) is not final, so this times out
    # whatever the machine's speed; the render takes seconds, not the time between two requests
    timed_out = refgen(refgen_server, *long_video, "--prompt", "slow", "--timeout", "0", "--json")
    line = timed_out.stderr.strip().splitlines()[-1]  # after the progress lines
    assert timed_out.returncode == 7 and "keeps running" in line
    task_id = json.loads(timed_out.stdout)["task"]["id"]

    cancelled = refgen(refgen_server, "cancel", task_id)
    if cancelled.returncode == 0:  # normally: the task is still queued or rendering
        assert cancelled.stdout.strip() == f"cancelled {task_id}"
        failed = refgen(refgen_server, "download", task_id, "-o", "never.mp4")
        line = failed.stderr.strip().splitlines()[-1]
        assert (
            failed.returncode == 6 and line.startswith("error: UserCancelled: task") and "cancelled" in line
        )
    else:  # it finished first: cancelling a finished task is refused
        assert cancelled.returncode == 5 and "can not cancel" in one_error_line(cancelled)


def test_cli_help_shows_environment_variables() -> None:
    result = subprocess.run([REFGEN, "video", "--help"], capture_output=True, text=True, check=True)
    text = " ".join(result.stdout.split())
    for variable in ("REFGEN_BASE_URL, VIDU_API_HOST", "REFGEN_API_KEY, VIDU_API_KEY", "REFGEN_VIDEO_PROMPT"):
        assert variable in text


def test_cli_video_with_subjects_writes_an_mp4(
    refgen_server: RunningServer, pictures: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "subjects.mp4"
    result = refgen(
        refgen_server,
        "video",
        "--model", "viduq2",
        "--subject", f"red={pictures[0]}",
        "--subject", f"blue={pictures[1]},{pictures[0]}:calm",
        "--prompt", "@red waves at @blue",
        "--duration", "2",
        "--seed", "3",
        "--json",
        "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["state"] == "success" and body["output"] == str(out)
    assert probe(out).codec == "h264"


def test_cli_text2video_every_option(refgen_server: RunningServer, tmp_path: Path) -> None:
    result = refgen(
        refgen_server,
        "text2video",
        "--model", "viduq2",
        "--prompt", "a lighthouse in a storm",
        "--style", "anime",
        "--duration", "2",
        "--resolution", "540p",
        "--aspect-ratio", "1:1",
        "--movement-amplitude", "large",
        "--bgm",
        "--seed", "9",
        "--payload", "t2v",
        "--meta-data", "m",
        "--no-wait",
        "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert (created["style"], created["duration"], created["aspect_ratio"], created["credits"]) == (
        "anime",
        2,
        "1:1",
        2,
    )
    out = tmp_path / "storm.mp4"
    saved = refgen(refgen_server, "text2video", "--prompt", "a lighthouse", "--seed", "9", "-o", str(out))
    assert saved.returncode == 0, saved.stderr
    info = probe(out)
    assert (info.codec, info.width, info.height) == ("h264", 1920, 1080)


def test_cli_img2video_takes_the_pictures_ratio(
    refgen_server: RunningServer, pictures: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "first.mp4"
    result = refgen(
        refgen_server,
        "img2video",
        "--model", "viduq2-turbo",
        "--image", str(pictures[1]),
        "--duration", "2",
        "--resolution", "720p",
        "--is-rec",
        "--json",
        "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["state"] == "success"
    info = probe(out)
    assert (info.width, info.height) == (720, 960)


def test_cli_start_end_writes_an_mp4(refgen_server: RunningServer, tmp_path: Path) -> None:
    start, end = tmp_path / "start.png", tmp_path / "end.png"
    start.write_bytes(picture(640, 360, colour=(240, 200, 40)))
    end.write_bytes(picture(640, 360, colour=(20, 20, 90)))
    out = tmp_path / "day.mp4"
    args = ["start-end", "--model", "viduq2-turbo", "--start", str(start), "--end", str(end)]
    result = refgen(refgen_server, *args, "--duration", "2", "--prompt", "a day passes", "-o", str(out))
    assert result.returncode == 0, result.stderr
    info = probe(out)
    assert (info.codec, info.width, info.height) == ("h264", 1280, 720)
    refused = refgen(refgen_server, "start-end", "--start", str(start), "--end", "x.png")
    assert refused.returncode == 2 and one_error_line(refused) == "error: image not found: x.png"


@pytest.mark.parametrize("verb", ["text2video", "img2video", "start-end"])
def test_cli_new_verbs_help_shows_environment_variables(verb: str) -> None:
    result = subprocess.run([REFGEN, verb, "--help"], capture_output=True, text=True, check=True)
    prefix = "REFGEN_" + verb.upper().replace("-", "_")
    text = " ".join(result.stdout.split())
    for variable in (
        "REFGEN_BASE_URL, VIDU_API_HOST",
        f"{prefix}_MODEL",
        f"{prefix}_AUDIO",
        f"{prefix}_SEED",
    ):
        assert variable in text
