"""The worker's outcome as a table: what happened while running the backend → what the worker does."""

from __future__ import annotations

import pytest

from refgen.domain import Creation
from refgen.err_codes import ErrCode
from refgen.errors import BackendError, BackendUnavailable, GenerationCancelled, OutOfMemory
from refgen.worker.outcome import Outcome, Verdict, decide

CREATION = Creation(id="t-0", media_key="m", cover_key="c", watermarked_key=None, width=8, height=8)
CANCELLED = Outcome(Verdict.FAIL, err_code=ErrCode.USER_CANCELLED)
DISCARD = Outcome(Verdict.DISCARD)

# (result, cancel_requested, lease_lost, handing_back) -> outcome
CASES: list[tuple[Creation | Exception, bool, bool, bool, Outcome]] = [
    (CREATION, False, False, False, Outcome(Verdict.COMPLETE, creation=CREATION)),
    (CREATION, False, False, True, Outcome(Verdict.COMPLETE, creation=CREATION)),
    (CREATION, True, False, False, Outcome(Verdict.FAIL, ErrCode.USER_CANCELLED, delete_outputs=True)),
    (CREATION, True, False, True, Outcome(Verdict.FAIL, ErrCode.USER_CANCELLED, delete_outputs=True)),
    (CREATION, False, True, False, Outcome(Verdict.DISCARD, delete_outputs=True)),
    (CREATION, True, True, False, Outcome(Verdict.DISCARD, delete_outputs=True)),
    (GenerationCancelled(), False, False, True, Outcome(Verdict.HAND_BACK)),
    (GenerationCancelled(), True, False, True, CANCELLED),
    (GenerationCancelled(), False, True, True, DISCARD),
    (GenerationCancelled(), True, False, False, CANCELLED),
    (GenerationCancelled(), False, False, False, CANCELLED),
    (GenerationCancelled(), False, True, False, DISCARD),
    (OutOfMemory(), False, False, False, Outcome(Verdict.FAIL, err_code=ErrCode.OUT_OF_MEMORY)),
    (OutOfMemory(), False, False, True, Outcome(Verdict.FAIL, err_code=ErrCode.OUT_OF_MEMORY)),
    (OutOfMemory(), True, False, False, CANCELLED),
    (OutOfMemory(), False, True, False, DISCARD),
    (BackendError("no video"), False, False, False, Outcome(Verdict.FAIL, ErrCode.INTERNAL_SERVICE_FAILURE)),
    (BackendUnavailable(), False, False, False, Outcome(Verdict.FAIL, ErrCode.INTERNAL_SERVICE_FAILURE)),
    (BackendError("no video"), True, False, False, CANCELLED),
    (RuntimeError("boom"), False, False, False, Outcome(Verdict.FAIL, ErrCode.INTERNAL_SERVICE_FAILURE)),
    (RuntimeError("boom"), False, False, True, Outcome(Verdict.FAIL, ErrCode.INTERNAL_SERVICE_FAILURE)),
    (RuntimeError("boom"), True, False, False, CANCELLED),
    (RuntimeError("boom"), True, True, False, DISCARD),
]


@pytest.mark.parametrize(("result", "cancel_requested", "lease_lost", "handing_back", "expected"), CASES)
def test_outcome_decide(
    result: Creation | Exception,
    cancel_requested: bool,
    lease_lost: bool,
    handing_back: bool,
    expected: Outcome,
) -> None:
    outcome = decide(
        result, cancel_requested=cancel_requested, lease_lost=lease_lost, handing_back=handing_back
    )
    assert outcome == expected
