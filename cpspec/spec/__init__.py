"""Spec files: the safe expression interpreter (``safeexpr``), loading worlds, claims and
observations (``loader``), and MDPs, agents and properties stated in files (``models``).
Spec files are data: nothing in them is evaluated by Python."""
