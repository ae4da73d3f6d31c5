"""What a worker does with a task once its backend ran: one pure function, :func:`decide`.

"What happened" is the creation the run produced or the exception it raised, and three facts
the lease knows at that moment: whether the client asked to cancel, whether the lease was lost
(the reaper gave the task to someone else), and whether this worker is handing its task back
(shutting down). :func:`decide` turns that into one :class:`Outcome`:

========================================  =============================================
what happened                             outcome
========================================  =============================================
a creation, lease lost                    discard (delete this attempt's files)
a creation, cancel requested              fail ``UserCancelled`` (delete the files)
a creation                                complete
GenerationCancelled while handing back    hand back (requeue for another worker)
any exception, lease lost                 discard (the new owner decides)
any exception, cancel requested           fail ``UserCancelled``
GenerationCancelled                       fail ``UserCancelled``
BackendError (OutOfMemory, ...)           fail with its ``reason``
any other exception                       fail ``InternalServiceFailure``
========================================  =============================================

A failed run removed its own files already (:func:`~refgen.worker.execute.execute_task`); only a
finished one that is not kept asks for them to be deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from refgen.domain import Creation
from refgen.err_codes import ErrCode
from refgen.errors import BackendError, GenerationCancelled


class Verdict(StrEnum):
    COMPLETE = "complete"  # record the creation: the task succeeded
    FAIL = "fail"  # the task ends failed with ``err_code``
    HAND_BACK = "hand back"  # put the task back in the queue for another worker
    DISCARD = "discard"  # the lease was lost: leave the task to its new owner


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    err_code: ErrCode | None = None  # with FAIL
    creation: Creation | None = None  # with COMPLETE
    delete_outputs: bool = False  # this attempt's files are not kept


def decide(
    result: Creation | Exception, *, cancel_requested: bool, lease_lost: bool, handing_back: bool
) -> Outcome:
    """The outcome of a run that produced ``result`` (a creation, or the exception it raised)."""
    if isinstance(result, Creation):
        if lease_lost:
            return Outcome(Verdict.DISCARD, delete_outputs=True)
        if cancel_requested:
            return Outcome(Verdict.FAIL, err_code=ErrCode.USER_CANCELLED, delete_outputs=True)
        return Outcome(Verdict.COMPLETE, creation=result)
    cancelled = isinstance(result, GenerationCancelled)
    if cancelled and handing_back and not cancel_requested and not lease_lost:
        return Outcome(Verdict.HAND_BACK)
    if lease_lost:
        return Outcome(Verdict.DISCARD)
    if cancel_requested or cancelled:
        return Outcome(Verdict.FAIL, err_code=ErrCode.USER_CANCELLED)
    if isinstance(result, BackendError):
        return Outcome(Verdict.FAIL, err_code=result.reason)
    return Outcome(Verdict.FAIL, err_code=ErrCode.INTERNAL_SERVICE_FAILURE)
