"""Builders of valid store objects for tests: :func:`make_api_key` and :func:`make_task`, with
test-friendly defaults."""

from __future__ import annotations

from datetime import UTC, datetime

from refgen.domain import ApiKey, Task, TaskKind, TaskSpec, TaskState

_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def make_api_key(
    name: str = "default",
    *,
    key_id: str | None = None,
    concurrency: int = 5,
    credits: int | None = None,
    created_at: datetime = _EPOCH,
    token_hash: str | None = None,
) -> ApiKey:
    """A key with a unique id and token hash derived from ``name`` unless given."""
    return ApiKey(
        id=key_id if key_id is not None else f"key-{name}",
        name=name,
        token_hash=token_hash if token_hash is not None else f"hash-{name}",
        token_encrypted=b"encrypted-" + name.encode(),
        concurrency=concurrency,
        credits=credits,
        created_at=created_at,
    )


def make_task(
    task_id: str,
    key_id: str,
    *,
    created_at: datetime = _EPOCH,
    model: str = "viduq1",
    credits: int = 8,
    off_peak: bool = False,
    state: TaskState = TaskState.CREATED,
    kind: TaskKind = TaskKind.VIDEO,
    callback_url: str = "",
) -> Task:
    """A valid reference2video task (viduq1, 5 s, 1080p) with one reference image."""
    spec = TaskSpec(
        kind=kind,
        model=model,
        prompt="a cat and a dog play chess",
        image_count=1,
        duration=5 if kind is TaskKind.VIDEO else None,
        resolution="1080p",
        aspect_ratio="16:9",
        movement_amplitude="auto" if kind is TaskKind.VIDEO else None,
        bgm=False,
        seed=42,
        off_peak=off_peak,
        watermark=False,
        wm_position=3,
        payload="",
        callback_url=callback_url,
        meta_data="",
        credits=credits,
    )
    return Task(
        id=task_id,
        key_id=key_id,
        spec=spec,
        reference_keys=[f"tasks/{task_id}/refs/0.png"],
        watermark_key=None,
        state=state,
        created_at=created_at,
    )
