"""The query of ``GET /ent/v2/tasks``, parsed: filters, time window and page.

Parameters come as ``(name, value)`` pairs in the order sent. A list parameter may be repeated
(``states=a&states=b``), sent with brackets (``states[]=a``) or as a comma list (``states=a,b``);
empty values are ignored. Of a scalar parameter sent more than once (or under two synonyms, such as
``paper.pagesz`` and ``pager.pagesz``) the last one counts. Unknown parameters are ignored.

:class:`ListFilters` are what a page token is bound to (as sent, before defaults);
:func:`time_window` applies the default window, :func:`task_query` builds the store's query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from refgen.contract.bodies import ASCII_WHITESPACE
from refgen.domain import TaskState
from refgen.errors import FieldInvalid, FieldItemCountOutOfRange, PageSizeOutOfRange
from refgen.task_query import MAX_PAGE_SIZE, MAX_TASK_IDS, TaskCursor, TaskQuery

DEFAULT_PAGE_SIZE = 10
MAX_PAGE = 10_000_000
DEFAULT_WINDOW = timedelta(days=7)
MODEL_PREFIX = "vidu"

LIST_PARAMETERS = ("task_ids", "states", "model_versions", "resolutions", "templates")
PAGE_PARAMETERS = ("paper.page", "pager.page")
PAGE_SIZE_PARAMETERS = ("paper.pagesz", "pager.pagesz", "limit")  # limit: refgen's earlier name
FROM_PARAMETER = "created_at.from"
TO_PARAMETER = "created_at.to"
TOKEN_PARAMETER = "pager.page_token"

UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNIX_SECONDS = re.compile(r"^[+-]?[0-9]{1,12}(\.[0-9]{1,9})?$")


@dataclass(frozen=True)
class ListFilters:
    """Which of the key's tasks a list shows, as the client asked (``None``: not asked)."""

    task_ids: tuple[str, ...] | None = None
    states: tuple[TaskState, ...] | None = None
    models: tuple[str, ...] | None = None  # full public names (``q1`` → ``viduq1``)
    resolutions: tuple[str, ...] | None = None
    templates: tuple[str, ...] | None = None  # refgen has no templates: any value matches nothing
    created_from: datetime | None = None
    created_to: datetime | None = None

    def canonical(self) -> str:
        """A stable text of the filters (sets sorted, times in UTC microseconds), for binding a page
        token to them: the same filters, however sent, give the same text."""

        def items(values: Iterable[str] | None) -> str:
            return "-" if values is None else ",".join(sorted(set(values)))

        def moment(value: datetime | None) -> str:
            return "-" if value is None else str(unix_micros(value))

        return "|".join(
            [
                items(self.task_ids),
                items(None if self.states is None else [s.value for s in self.states]),
                items(self.models),
                items(self.resolutions),
                items(self.templates),
                moment(self.created_from),
                moment(self.created_to),
            ]
        )


@dataclass(frozen=True)
class ListRequest:
    filters: ListFilters
    page: int = 0
    page_size: int = DEFAULT_PAGE_SIZE
    page_token: str = ""  # "" = none; when given it wins over ``page``


def parse_list_query(params: Iterable[tuple[str, str]]) -> ListRequest:
    """The query parameters of a task list; raises FieldInvalid, FieldItemCountOutOfRange or
    PageSizeOutOfRange naming the parameter."""
    lists: dict[str, list[str]] = {}
    scalars: dict[str, tuple[str, str]] = {}  # canonical name -> (name as sent, value)
    repeats: dict[str, int] = {}  # how often each list parameter was sent, empty values included
    for raw_name, value in params:
        name = raw_name.removesuffix("[]")
        repeats[raw_name] = repeats.get(raw_name, 0) + 1
        if name in LIST_PARAMETERS:
            values = [v.strip(ASCII_WHITESPACE) for v in value.split(",") if v.strip(ASCII_WHITESPACE)]
            if values:
                lists.setdefault(name, []).extend(values)
        elif value.strip(ASCII_WHITESPACE):
            sent = (name, value.strip(ASCII_WHITESPACE))
            # every value sent must be valid, though the last of a parameter and its synonyms counts
            if name in PAGE_PARAMETERS:
                _page(sent)
                scalars[PAGE_PARAMETERS[0]] = sent
            elif name in PAGE_SIZE_PARAMETERS:
                _page_size(sent)
                scalars[PAGE_SIZE_PARAMETERS[0]] = sent
            elif name in (FROM_PARAMETER, TO_PARAMETER):
                _time(sent)
                scalars[name] = sent
            elif name == TOKEN_PARAMETER:
                scalars[name] = sent

    task_ids = lists.get("task_ids")
    id_parameters = max(repeats.get("task_ids", 0), repeats.get("task_ids[]", 0))
    if id_parameters > MAX_TASK_IDS or (task_ids is not None and len(task_ids) > MAX_TASK_IDS):
        raise FieldItemCountOutOfRange(f"too many items: task_ids (at most {MAX_TASK_IDS})", field="task_ids")
    states = lists.get("states")
    models = lists.get("model_versions")
    resolutions = lists.get("resolutions")
    templates = lists.get("templates")
    filters = ListFilters(
        task_ids=None if task_ids is None else tuple(task_ids),
        states=None if states is None else tuple(_state(s) for s in states),
        models=None if models is None else tuple(model_name(m) for m in models),
        resolutions=None if resolutions is None else tuple(resolutions),
        templates=None if templates is None else tuple(templates),
        created_from=_time(scalars.get(FROM_PARAMETER)),
        created_to=_time(scalars.get(TO_PARAMETER)),
    )
    page = _page(scalars.get(PAGE_PARAMETERS[0]))
    size = _page_size(scalars.get(PAGE_SIZE_PARAMETERS[0]))
    token = scalars.get(TOKEN_PARAMETER, ("", ""))[1]
    return ListRequest(filters=filters, page=page, page_size=size, page_token=token)


def _page(sent: tuple[str, str] | None) -> int:
    page = _int(sent, 0)
    if sent is not None and not 0 <= page <= MAX_PAGE:
        raise FieldInvalid(f"invalid field: {sent[0]} (0 to {MAX_PAGE})", field=sent[0])
    return page


def _page_size(sent: tuple[str, str] | None) -> int:
    size = _int(sent, DEFAULT_PAGE_SIZE)
    if sent is not None and not 1 <= size <= MAX_PAGE_SIZE:
        raise PageSizeOutOfRange(f"page size out of range: {sent[0]} (1 to {MAX_PAGE_SIZE})", field=sent[0])
    return size


def model_name(version: str) -> str:
    """A ``model_versions`` value as a public model name: ``q1`` and ``viduq1`` are ``viduq1``."""
    return version if version.startswith(MODEL_PREFIX) else MODEL_PREFIX + version


def time_window(filters: ListFilters, now: datetime) -> tuple[datetime | None, datetime | None]:
    """``[from, to)`` of a list: as sent; without ``task_ids`` a missing ``to`` is ``now`` and a
    missing ``from`` 7 days before ``to``; with ``task_ids`` missing bounds stay open."""
    if filters.task_ids is not None:
        return filters.created_from, filters.created_to
    end = filters.created_to or now
    if filters.created_from is not None:
        return filters.created_from, end
    earliest = datetime.min.replace(tzinfo=UTC)
    return (end - DEFAULT_WINDOW if end - earliest > DEFAULT_WINDOW else earliest), end


def task_query(
    key_id: str,
    filters: ListFilters,
    window: tuple[datetime | None, datetime | None],
    *,
    limit: int,
    offset: int = 0,
    after: TaskCursor | None = None,
) -> TaskQuery:
    """The store's query for one page (``limit`` may be one more than the page, to see if more follow)."""
    return TaskQuery(
        key_id=key_id,
        # a template filter matches nothing: no task id can be in an empty tuple
        task_ids=() if filters.templates else filters.task_ids,
        states=filters.states,
        models=filters.models,
        resolutions=filters.resolutions,
        created_from=window[0],
        created_to=window[1],
        limit=limit,
        offset=offset,
        after=after,
    )


def parse_time(value: str) -> datetime | None:
    """RFC 3339 (a time without an offset is UTC) or Unix seconds, as an aware UTC datetime; None
    when it is neither."""
    try:
        if _UNIX_SECONDS.match(value):
            return datetime.fromtimestamp(float(value), UTC)
        moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def unix_micros(value: datetime) -> int:
    """Microseconds since the Unix epoch (exact, unlike ``timestamp()``)."""
    delta = value.astimezone(UTC) - UNIX_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _state(value: str) -> TaskState:
    try:
        return TaskState(value)
    except ValueError:
        allowed = ", ".join(s.value for s in TaskState)
        raise FieldInvalid(f"invalid field: states ({allowed})", field="states") from None


def _time(sent: tuple[str, str] | None) -> datetime | None:
    if sent is None:
        return None
    name, value = sent
    moment = parse_time(value)
    if moment is None:
        raise FieldInvalid(f"invalid field: {name} (RFC 3339 time or Unix seconds)", field=name)
    return moment


def _int(sent: tuple[str, str] | None, default: int) -> int:
    if sent is None:
        return default
    name, value = sent
    if not re.fullmatch(r"[+-]?[0-9]{1,12}", value):
        raise FieldInvalid(f"invalid field: {name} (an integer)", field=name)
    return int(value)
