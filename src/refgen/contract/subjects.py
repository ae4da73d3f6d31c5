"""reference2video's subjects form: characters with ids (``@id`` in the prompt), pictures and voices.

A non-empty ``subjects`` selects this form; its pictures become the task's references in request
order, each subject taking its own next ones. Errors name the place the client wrote
(``subjects[1].id``, ``subjects[0].images[2]``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from refgen.contract.catalogue import SUBJECT_ID_MAX, SUBJECT_IMAGES_MAX, SUBJECTS_MAX, VOICE_ID_MAX
from refgen.contract.fields import Fields, image_ref, string
from refgen.contract.options import ModelOptions
from refgen.domain import Subject
from refgen.errors import FieldInvalid, FieldItemCountOutOfRange, FieldLacking, FieldUnwanted

_BAD_ID = re.compile(r"[\s@]")
_EMPTY: tuple[object, ...] = (None, "", [])  # what "not given" looks like for a list field


@dataclass(frozen=True)
class SubjectsForm:
    subjects: tuple[Subject, ...]
    images: tuple[str, ...]  # every subject's pictures, flattened in request order
    image_fields: tuple[str, ...]  # where each was written: subjects[i].images[j]


def uses_subjects(fields: Fields) -> bool:
    """Whether the body is the subjects form (a non-empty ``subjects``); refuses one that also
    sends a non-empty ``images``, and one that sends neither."""
    value = fields.get("subjects")
    if value in _EMPTY:
        if "subjects" in fields and fields.get("images") in _EMPTY:
            raise FieldLacking(field="subjects")
        return False
    if fields.get("images") not in _EMPTY:
        raise FieldUnwanted("unwanted field: images (send either images or subjects)", field="images")
    return True


def parse_subjects(value: object, options: ModelOptions) -> SubjectsForm:
    if not isinstance(value, list):
        raise FieldInvalid("invalid field: subjects (must be a list of objects)", field="subjects")
    if len(value) > SUBJECTS_MAX:
        raise FieldItemCountOutOfRange(
            f"field item count out of range: subjects (1 to {SUBJECTS_MAX} subjects, got {len(value)})",
            field="subjects",
        )
    subjects: list[Subject] = []
    images: list[str] = []
    image_fields: list[str] = []
    for i, item in enumerate(value):
        where = f"subjects[{i}]"
        if not isinstance(item, Mapping):
            raise FieldInvalid(f"invalid field: {where} (must be an object)", field=where)
        subject_id = _subject_id(item, where, {s.id for s in subjects})
        pictures = _pictures(item.get("images"), f"{where}.images")
        voice_id = string(item, "voice_id", max_length=VOICE_ID_MAX, field=f"{where}.voice_id")
        subjects.append(Subject(subject_id, len(pictures), voice_id))
        images.extend(pictures)
        image_fields.extend(f"{where}.images[{j}]" for j in range(len(pictures)))
    most = min(SUBJECTS_MAX, options.max_images)
    if len(images) > most:
        raise FieldItemCountOutOfRange(
            f"field item count out of range: subjects (at most {most} images in all, got {len(images)})",
            field="subjects",
        )
    return SubjectsForm(tuple(subjects), tuple(images), tuple(image_fields))


def _subject_id(item: Fields, where: str, taken: set[str]) -> str:
    field = f"{where}.id"
    value = item.get("id")
    if value is None or value == "":
        raise FieldLacking(field=field)
    if not isinstance(value, str):
        raise FieldInvalid(f"invalid field: {field} (must be a string)", field=field)
    if len(value) > SUBJECT_ID_MAX or _BAD_ID.search(value):
        raise FieldInvalid(
            f"invalid field: {field} (1 to {SUBJECT_ID_MAX} characters, no whitespace, no @)", field=field
        )
    if value in taken:
        raise FieldInvalid(f"invalid field: {field} (id {value!r} is used twice)", field=field)
    return value


def _pictures(value: object, field: str) -> list[str]:
    if value is None or value == []:
        raise FieldLacking(field=field)
    if not isinstance(value, list):
        raise FieldInvalid(f"invalid field: {field} (must be a list of URLs or data URLs)", field=field)
    if len(value) > SUBJECT_IMAGES_MAX:
        raise FieldItemCountOutOfRange(
            f"field item count out of range: {field} (1 to {SUBJECT_IMAGES_MAX}, got {len(value)})",
            field=field,
        )
    return [image_ref(item, f"{field}[{j}]") for j, item in enumerate(value)]
