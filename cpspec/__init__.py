"""cpspec: formal specification and verification of AI agent designs, built on the
graphical world models of counterfactual planning (Holtman 2021).

The public surface is re-exported here; see the README for a tour.
"""

import types as _types

from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all
from .core.functions import bernoulli, const, decision, dist, fn, uniform, utility
from .core.diagram import Diagram, Node, world
from .core.expressions import Expr, RV, ifelse, maximum, minimum
from .core.counterfactual import replace
from .inference.exact import E, P, distribution, marginal
from .inference.comparisons import where
from .inference.sampling import evaluate_samples, simulate
from .inference.crosscheck import CrossCheck, crosscheck
from .inference.sweep import Sweep, sweep
from .decisions.mdp import MDP, State, influence_diagram, unroll
from .decisions.solving import ParametricSolution, Solution, evaluate_policy, solve
from .decisions.chunks import ChunkModel, ChunkPlan, EffectiveHorizon, chunks
from .decisions.correction import corrected
from .decisions.thresholds import PlanPiece, PlanThresholds, plan_thresholds
from .decisions.influence import IDSolution, ParametricIDSolution
from .decisions.incentive_criteria import (DecisionIncentives, Incentives, incentives,
                                           value_of_control, value_of_information)
from .core.regions import Choice
from . import agents
from .verification.properties import (always, eventually, myopic, no_incentive, no_self_knowledge,
                         obeys_stop_button, policy_unmodified)
from .verification.classes import WorldClass
from .verification.equivalence import equivalent
from .verification.procedures import verify
from .verification.records import Counterexample, Verdict
from .verification.synthesis import RegionSynthesis, Synthesis, synthesize
from .core.partition import ParameterRegion, RegionSolution
from .export.regions import region_picture
from .explanations import ActionExplanation, Explanation, explain, explain_action
from .explanations import DecisionsExplanation, explain_decisions
from .export.prism import prism_property, to_prism
from .export.drawing import Drawing, draw
from .verification.theory import GoodnessOfFit, conforms, fit, gof, likelihood
from .spec.observations import read_observations
from .agents import learners

__version__ = "0.1.0"

__all__ = [
    "world", "Diagram", "Node", "replace",
    "fn", "dist", "uniform", "const", "bernoulli", "decision", "utility",
    "Expr", "RV", "minimum", "maximum", "ifelse",
    "MDP", "State", "unroll", "influence_diagram", "solve", "evaluate_policy", "Solution",
    "ParametricSolution", "corrected", "IDSolution", "ParametricIDSolution", "Choice", "agents", "learners",
    "to_prism", "prism_property", "draw",
    "conforms", "likelihood", "fit", "gof", "GoodnessOfFit", "read_observations",
    "explain", "explain_action", "Explanation", "ActionExplanation",
    "explain_decisions", "DecisionsExplanation", "Drawing",
    "verify", "WorldClass", "equivalent", "synthesize", "Synthesis", "RegionSynthesis",
    "RegionSolution", "ParameterRegion", "region_picture", "Verdict", "Counterexample",
    "policy_unmodified", "myopic",
    "obeys_stop_button", "no_incentive", "no_self_knowledge", "always", "eventually",
    "P", "E", "where", "distribution", "marginal", "simulate", "evaluate_samples", "crosscheck", "CrossCheck",
    "incentives", "Incentives", "DecisionIncentives", "value_of_information", "value_of_control",
    "chunks", "ChunkModel", "ChunkPlan", "EffectiveHorizon",
    "sweep", "Sweep",
    "plan_thresholds", "PlanThresholds", "PlanPiece",
] + list(_errors_all)


def _check_public_surface() -> None:
    """``__all__`` names exactly the public names defined here (as Hypothesis checks its
    own): a name added without being listed, or listed without existing, fails at import
    rather than in a user's code."""
    listed = set(__all__)
    defined = {k for k, v in globals().items()
               if not k.startswith("_") and k not in ("annotations",)
               and not (isinstance(v, _types.ModuleType) and k not in ("agents", "learners"))}
    missing = sorted(listed - set(globals()))
    unlisted = sorted(defined - listed)
    if missing or unlisted or len(__all__) != len(listed):
        raise ImportError(f"cpspec.__all__ is out of date: listed but missing {missing}, "
                          f"defined but unlisted {unlisted}")


_check_public_surface()
