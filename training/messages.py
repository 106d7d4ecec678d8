"""Typed progress messages a training run puts on a queue; the CLI renders them, the GUI reads them.

Every message is a frozen dataclass of plain values; a trainer process sends them to the app as JSON lines
(:func:`to_json` / :func:`from_json`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Started:
    """The run began (or resumed at ``step``)."""

    run_dir: str
    method: str
    total_steps: int
    step: int = 0
    device: str = "cpu"


@dataclass(frozen=True)
class StepDone:
    """One optimisation step finished."""

    step: int
    total_steps: int
    loss: float
    lr: float
    eta_s: float


@dataclass(frozen=True)
class EvalDone:
    """Validation on seen classes (the only model-selection signal) finished."""

    step: int
    metrics: dict = field(default_factory=dict)
    score: float = 0.0
    best: bool = False


@dataclass(frozen=True)
class CheckpointSaved:
    step: int
    path: str


@dataclass(frozen=True)
class Log:
    text: str


@dataclass(frozen=True)
class Finished:
    """The run ended: ``status`` is ``done``, ``stopped`` (cooperative stop) or ``failed``."""

    status: str
    step: int
    checkpoint: str = ""
    error: str = ""


Message = Started | StepDone | EvalDone | CheckpointSaved | Log | Finished


_TYPES = {cls.__name__: cls for cls in (Started, StepDone, EvalDone, CheckpointSaved, Log, Finished)}


def to_json(message: Message) -> str:
    """One JSON line for a message (how a trainer process reports to the app): ``{"type": ..., fields}``."""
    import dataclasses
    import json

    return json.dumps({"type": type(message).__name__, **dataclasses.asdict(message)})


def from_json(line: str) -> Message | None:
    """Inverse of :func:`to_json`; None for a line that is not a message (a stray print, a warning)."""
    import json

    try:
        data = json.loads(line)
        cls = _TYPES[data.pop("type")]
        return cls(**data)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
