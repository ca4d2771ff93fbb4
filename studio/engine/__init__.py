"""The task engine (see engine.py): sends, follows and saves every remote task."""

from .engine import EngineSettings, TaskEngine
from .keys import KeyRing
from .kinds import CHARACTERS, GENERATIONS, TaskKind
from .outcomes import Outcome, Verdict, judge
from .schedule import PollPolicy, first_poll, next_poll

__all__ = [
    "CHARACTERS",
    "EngineSettings",
    "GENERATIONS",
    "KeyRing",
    "Outcome",
    "PollPolicy",
    "TaskEngine",
    "TaskKind",
    "Verdict",
    "first_poll",
    "judge",
    "next_poll",
]
