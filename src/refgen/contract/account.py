"""``GET /ent/v2/credits``: the calling key's balance and load, in the body Vidu's page shows.

A self-hosted key is its own account: one ``remains`` entry and one package, both for the key, of
type ``metered``. ``credit_remain`` is the key's credit limit minus the credits charged minus the
credits its unfinished tasks hold; since the stored balance is what is left after the charges, that
is the balance minus what is held, and the limit (``credit_amount``) is the balance plus what was
charged. A key without a limit reports :data:`UNLIMITED` for both, so clients comparing balance
against cost keep working. The page's table calls the list ``remaining_credits`` and its example
``remains``: both are sent, with the same list. ``packages`` is ``[]`` unless asked for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from refgen.contract.bodies import ASCII_WHITESPACE
from refgen.domain import ApiKey
from refgen.errors import FieldInvalid
from refgen.task_query import KeyUsage

UNLIMITED = 2_147_483_647
VALID_TO = "9999-12-31T23:59:59Z"
SHOW_DETAIL = "show_detail"
_TRUE = ("true", "1")
_FALSE = ("false", "0", "")


class CreditRemain(BaseModel):
    type: Literal["metered"]
    credit_remain: int = Field(
        description=f"Limit − charged − held by unfinished tasks; {UNLIMITED} if unlimited."
    )
    concurrency_limit: int
    current_concurrency: int = Field(description="Tasks in `processing`.")
    queue_count: int = Field(description="Tasks in `created` or `queueing`.")


class CreditPackage(BaseModel):
    id: str = Field(description="The key's id (as `key_id` in the task list).")
    name: str = Field(description="The key's name.")
    type: Literal["metered"]
    concurrency: int
    credit_amount: int = Field(description=f"The key's credit limit; {UNLIMITED} if unlimited.")
    credit_remain: int
    created_at: str = Field(description="The key's creation time (RFC 3339, UTC).")
    purchase_at: str
    valid_from: str
    valid_to: str = Field(description=f"Always `{VALID_TO}`: keys do not expire.")


class Credits(BaseModel):
    remains: list[CreditRemain]
    remaining_credits: list[CreditRemain] = Field(description="The same list as `remains`.")
    packages: list[CreditPackage] = Field(description="`[]` unless `show_detail` is true.")


def parse_show_detail(value: str | None) -> bool:
    """``true``/``false`` or ``1``/``0``, any case; absent or empty is false."""
    text = (value or "").strip(ASCII_WHITESPACE).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FieldInvalid(f"invalid field: {SHOW_DETAIL} (true or false)", field=SHOW_DETAIL)


def credits_body(key: ApiKey, usage: KeyUsage, *, detailed: bool) -> Credits:
    if usage.balance is None:
        remain = amount = UNLIMITED
    else:
        remain = max(usage.balance - usage.held, 0)
        amount = usage.balance + usage.charged
    remains = [
        CreditRemain(
            type="metered",
            credit_remain=remain,
            concurrency_limit=key.concurrency,
            current_concurrency=usage.processing,
            queue_count=usage.waiting,
        )
    ]
    created = _seconds(key.created_at)
    packages = [
        CreditPackage(
            id=key.id,
            name=key.name,
            type="metered",
            concurrency=key.concurrency,
            credit_amount=amount,
            credit_remain=remain,
            created_at=created,
            purchase_at=created,
            valid_from=created,
            valid_to=VALID_TO,
        )
    ]
    return Credits(remains=remains, remaining_credits=remains, packages=packages if detailed else [])


def _seconds(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
