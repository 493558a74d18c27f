"""Spec files: TOML files stating worlds, MDPs, agents, claims, properties and
observations. Spec files are data: nothing in them is evaluated by Python.

Modules, each importing only those listed after it (no cycles)::

    loader        load(), check(): reading files (uses, confinement), building a Spec
    claims        [claims]: ClaimResult, check_claims(), expected values
    observations  [[observations]]: ObservationResult, check_observations()
    properties    [[property]]: PropertyEntry, PropertyResult, check_properties()
    queries       derive(): query names and functions, Solutions (solved models)
    models        [mdp.NAME] and [agent.NAME]
    nodes         the node compiler: one node table -> a structural function
    ranges        the values of a parameter for which every probability lies in [0, 1]
    equality      exact equality of derived and expected values (piecewise, choices)
    base          Spec, Claim, line lookup, readers of names, values and numbers
    safeexpr      the whitelisting expression interpreter

The entry points are :func:`cpspec.spec.loader.load`, :func:`~cpspec.spec.loader.check`,
:func:`~cpspec.spec.loader.derive` and :func:`~cpspec.spec.loader.show`.
"""
