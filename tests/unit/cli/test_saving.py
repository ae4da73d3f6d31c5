"""Where ``-o`` saves: files named by task in a folder, an existing file kept without --force."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from refgen.cli import main
from refgen.cli.progress import plural
from refgen.cli.saving import check_output, save_target, task_file_name
from refgen.client import Generation

BASE = "http://127.0.0.1:8000/files/tasks/abc"


def finished(task_id: str = "t1", creations: int = 1) -> Generation:
    return Generation.model_validate(
        {
            "id": task_id,
            "state": "success",
            "creations": [
                {
                    "id": f"c{i}",
                    "url": f"{BASE}/{i}/video.mp4?sig=x",
                    "cover_url": f"{BASE}/{i}/cover.jpg?sig=x",
                    "watermarked_url": f"{BASE}/{i}/video-watermarked.mp4",
                }
                for i in range(creations)
            ],
        }
    )


def test_saving_names_files_in_a_folder_by_task() -> None:
    one = finished()
    assert task_file_name(one, index=0, which="url") == "t1.mp4"
    assert task_file_name(one, index=0, which="cover_url") == "t1-cover.jpg"
    assert task_file_name(one, index=0, which="watermarked_url") == "t1-watermarked.mp4"
    several = finished(creations=3)
    assert task_file_name(several, index=2, which="url") == "t1-2.mp4"


def test_saving_two_tasks_into_one_folder_get_two_files(tmp_path: Path) -> None:
    folder = f"{tmp_path / 'videos'}/"
    first = save_target(folder, finished("a"), index=0, which="url", force=False)
    second = save_target(folder, finished("b"), index=0, which="url", force=False)
    assert (first, second) == (tmp_path / "videos" / "a.mp4", tmp_path / "videos" / "b.mp4")
    assert save_target(str(tmp_path), finished("a"), index=0, which="url", force=False).parent == tmp_path


def test_saving_refuses_an_existing_file_without_force(tmp_path: Path) -> None:
    (tmp_path / "a.mp4").write_bytes(b"kept")
    with pytest.raises(click.exceptions.Exit) as caught:
        save_target(str(tmp_path), finished("a"), index=0, which="url", force=False)
    assert caught.value.exit_code == 2
    assert save_target(str(tmp_path), finished("a"), index=0, which="url", force=True) == tmp_path / "a.mp4"
    with pytest.raises(click.exceptions.Exit):
        check_output(str(tmp_path / "a.mp4"), force=False)
    check_output(str(tmp_path / "a.mp4"), force=True)
    check_output(str(tmp_path), force=False)  # a folder: its file name is known later
    assert (tmp_path / "a.mp4").read_bytes() == b"kept"


def test_saving_unfinished_task_keeps_the_output_for_the_download_to_refuse(tmp_path: Path) -> None:
    running = Generation(id="t", state="processing")
    assert save_target(str(tmp_path), running, index=0, which="url", force=False) == tmp_path


def test_saving_create_command_refuses_an_existing_output_before_creating(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"kept")
    args = ["video", "--prompt", "p", "-o", str(out), "--api-key", "k", "--base-url", "http://127.0.0.1:9"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "--force" in result.stderr and "could not reach" not in result.stderr
    assert out.read_bytes() == b"kept"


def test_saving_credits_are_counted_in_words() -> None:
    assert [plural(n, "credit") for n in (0, 1, 2)] == ["0 credits", "1 credit", "2 credits"]


def test_saving_image_that_is_a_folder_says_so(tmp_path: Path) -> None:
    args = ["video", "--image", str(tmp_path), "--prompt", "p", "--api-key", "k"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: image is a folder, not a picture file: {tmp_path}"


def test_saving_download_no_wait_help_says_it_saves_at_once() -> None:
    result = CliRunner().invoke(main, ["download", "--help"], terminal_width=200)
    [line] = [line for line in result.stdout.splitlines() if line.strip().startswith("--no-wait")]
    assert "Save at once" in line and "task id" not in line
