"""The store behaviour suite of ``tests/unit/store``, against SqlStore on SQLite and PostgreSQL
(this directory's ``store`` fixture); the unit tier runs the same tests against MemoryStore."""

from tests.unit.store.test_idempotency_behaviour import *  # noqa: F403
from tests.unit.store.test_outbox_behaviour import *  # noqa: F403
from tests.unit.store.test_queue_depth_behaviour import *  # noqa: F403
from tests.unit.store.test_queue_limits_behaviour import *  # noqa: F403
from tests.unit.store.test_retention_behaviour import *  # noqa: F403
from tests.unit.store.test_store_behaviour import *  # noqa: F403
from tests.unit.store.test_task_query_behaviour import *  # noqa: F403
from tests.unit.store.test_worker_registry import *  # noqa: F403
