"""cpspec: formal specification and verification of AI agent designs, built on the
graphical world models of counterfactual planning (Holtman 2021).

The public surface is re-exported here; see the README for a tour.
"""

from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all
from .functions import bernoulli, const, decision, dist, fn, uniform, utility
from .diagram import Diagram, Node, world
from .expressions import Expr, RV, ifelse, maximum, minimum
from .counterfactual import replace
from .exact import E, P, distribution, marginal
from .simulate import evaluate_samples, simulate
from .crosscheck import CrossCheck, crosscheck
from .mdp import MDP, State, influence_diagram, unroll
from .decisions import ClosedFormError, ParametricSolution, Solution, evaluate_policy, solve
from .regions import Choice
from . import agents
from .properties import (always, eventually, myopic, no_incentive, no_self_knowledge,
                         obeys_stop_button, policy_unmodified)
from .verification import Counterexample, Verdict, verify
from .synthesis import Synthesis, synthesize
from .explain import ActionExplanation, Explanation, explain, explain_action
from .prism import prism_property, to_prism
from .draw import draw
from .theory import GoodnessOfFit, conforms, fit, gof, likelihood, read_observations
from . import learning as learners

__version__ = "0.1.0"

__all__ = [
    "world", "Diagram", "Node", "replace",
    "fn", "dist", "uniform", "const", "bernoulli", "decision", "utility",
    "Expr", "RV", "minimum", "maximum", "ifelse",
    "MDP", "State", "unroll", "influence_diagram", "solve", "evaluate_policy", "Solution",
    "ParametricSolution", "Choice", "ClosedFormError", "agents", "learners",
    "to_prism", "prism_property", "draw",
    "conforms", "likelihood", "fit", "gof", "GoodnessOfFit", "read_observations",
    "explain", "explain_action", "Explanation", "ActionExplanation",
    "verify", "synthesize", "Synthesis", "Verdict", "Counterexample", "policy_unmodified", "myopic",
    "obeys_stop_button", "no_incentive", "no_self_knowledge", "always", "eventually",
    "P", "E", "distribution", "marginal", "simulate", "evaluate_samples", "crosscheck", "CrossCheck",
] + list(_errors_all)
