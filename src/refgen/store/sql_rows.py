"""Rows ↔ objects for the SQL store: the column values of an :class:`~refgen.store.base.ApiKey`,
a :class:`~refgen.domain.Task` (its creations as JSON) and a
:class:`~refgen.store.base.CallbackDelivery`, and the objects back from their rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select

from refgen.domain import (
    TERMINAL_STATES,
    WAITING_STATES,
    ApiKey,
    Creation,
    Subject,
    Task,
    TaskKind,
    TaskSpec,
    TaskState,
)
from refgen.store.base import CallbackAttempt, CallbackDelivery, DeliveryStatus
from refgen.store.schema import tasks
from refgen.store.times import as_utc, optional_utc

# the groups of states the queries use, as the ``state`` column stores them
WAITING = sorted(state.value for state in WAITING_STATES)
UNFINISHED = sorted(state.value for state in TaskState if state not in TERMINAL_STATES)


def key_values(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "token_hash": key.token_hash,
        "token_encrypted": key.token_encrypted,
        "concurrency": key.concurrency,
        "credits": key.credits,
        "created_at": as_utc(key.created_at),
        "revoked_at": None if key.revoked_at is None else as_utc(key.revoked_at),
    }


def row_to_key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        token_hash=row.token_hash,
        token_encrypted=bytes(row.token_encrypted),
        concurrency=row.concurrency,
        credits=row.credits,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def task_values(task: Task) -> dict[str, Any]:
    spec = task.spec
    return {
        "id": task.id,
        "key_id": task.key_id,
        "kind": spec.kind.value,
        "model": spec.model,
        "prompt": spec.prompt,
        "image_count": spec.image_count,
        "duration": spec.duration,
        "resolution": spec.resolution,
        "aspect_ratio": spec.aspect_ratio,
        "movement_amplitude": spec.movement_amplitude,
        "bgm": spec.bgm,
        "seed": spec.seed,
        "off_peak": spec.off_peak,
        "watermark": spec.watermark,
        "wm_position": spec.wm_position,
        "payload": spec.payload,
        "callback_url": spec.callback_url,
        "meta_data": spec.meta_data,
        "credits": spec.credits,
        "style": spec.style,
        "audio": spec.audio,
        "voice_id": spec.voice_id,
        "is_rec": spec.is_rec,
        "subjects": json.dumps([asdict(subject) for subject in spec.subjects]),
        "reference_keys": json.dumps(list(task.reference_keys)),
        "image_sources": json.dumps(list(task.image_sources)),
        "watermark_key": task.watermark_key,
        "state": TaskState(task.state).value,
        "created_at": as_utc(task.created_at),
        "err_code": task.err_code,
        "progress": task.progress,
        "attempts": task.attempts,
        "started_at": optional_utc(task.started_at),
        "finished_at": optional_utc(task.finished_at),
        "worker_id": task.worker_id,
        "lease_expires_at": optional_utc(task.lease_expires_at),
        "cancel_requested": task.cancel_requested,
        "creations": creations_json(task.creations),
    }


def creations_json(creations: Sequence[Creation]) -> str:
    return json.dumps(
        [
            {
                "id": c.id,
                "media_key": c.media_key,
                "cover_key": c.cover_key,
                "watermarked_key": c.watermarked_key,
                "width": c.width,
                "height": c.height,
                "duration": c.duration,
                "fps": c.fps,
            }
            for c in creations
        ]
    )


def _creations_from_json(text: str) -> list[Creation]:
    return [
        Creation(
            id=item["id"],
            media_key=item["media_key"],
            cover_key=item["cover_key"],
            watermarked_key=item["watermarked_key"],
            width=item["width"],
            height=item["height"],
            duration=item["duration"],
            fps=item["fps"],
        )
        for item in json.loads(text)
    ]


def row_to_task(row: Row[Any]) -> Task:
    spec = TaskSpec(
        kind=TaskKind(row.kind),
        model=row.model,
        prompt=row.prompt,
        image_count=row.image_count,
        duration=row.duration,
        resolution=row.resolution,
        aspect_ratio=row.aspect_ratio,
        movement_amplitude=row.movement_amplitude,
        bgm=bool(row.bgm),
        seed=row.seed,
        off_peak=bool(row.off_peak),
        watermark=bool(row.watermark),
        wm_position=row.wm_position,
        payload=row.payload,
        callback_url=row.callback_url,
        meta_data=row.meta_data,
        credits=row.credits,
        style=row.style,
        audio=bool(row.audio),
        voice_id=row.voice_id,
        is_rec=bool(row.is_rec),
        subjects=tuple(Subject(**item) for item in json.loads(row.subjects)),
    )
    return Task(
        id=row.id,
        key_id=row.key_id,
        spec=spec,
        reference_keys=list(json.loads(row.reference_keys)),
        watermark_key=row.watermark_key,
        state=TaskState(row.state),
        created_at=row.created_at,
        err_code=row.err_code,
        progress=row.progress,
        attempts=row.attempts,
        started_at=row.started_at,
        finished_at=row.finished_at,
        worker_id=row.worker_id,
        lease_expires_at=row.lease_expires_at,
        cancel_requested=bool(row.cancel_requested),
        creations=_creations_from_json(row.creations),
        image_sources=list(json.loads(row.image_sources)),
    )


_TASK_BY_ID = select(tasks).where(tasks.c.id == bindparam("task_id"))  # built once: the hottest read


def load_task(connection: Connection, task_id: str) -> Task | None:
    row = connection.execute(_TASK_BY_ID, {"task_id": task_id}).first()
    return None if row is None else row_to_task(row)


def row_to_delivery(row: Row[Any], history: Sequence[CallbackAttempt] = ()) -> CallbackDelivery:
    return CallbackDelivery(
        id=row.id,
        task_id=row.task_id,
        key_id=row.key_id,
        state=TaskState(row.state),
        url=row.url,
        progress=row.progress,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        round_attempts=row.round_attempts,
        next_attempt_at=row.next_attempt_at,
        locked_until=row.locked_until,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        history=tuple(history),
    )
