"""The formalism's core: exact numbers and structural functions (``functions``),
expressions over random variables (``expressions``), diagrams (``diagram``), surgery
(``counterfactual``) and values that depend on a parameter (``regions``).

Nothing here imports from the rest of cpspec except ``errors`` and ``budget``.
"""
