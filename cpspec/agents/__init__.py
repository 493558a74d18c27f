"""The paper's agents as specifications (``paper``: ``FP``, ``FPX``, ``STH``, ``SI``,
``SIF``, ``ITF``, ``ITC``, ``UPD``, on the common base ``Agent`` in ``base``), the factual
and counterfactual oracles (``oracle``: ``FO``, ``CFO``) and their learning functions
(``learners``, also available as ``cp.learners``).

>>> import cpspec as cp
>>> cp.agents.FP.__name__
'FP'
"""

from .base import Agent
from .oracle import CFO, FO
from .paper import FP, FPX, ITC, ITF, SI, SIF, STH, UPD

__all__ = ["Agent", "FP", "FPX", "STH", "SI", "SIF", "ITF", "ITC", "UPD", "FO", "CFO"]
