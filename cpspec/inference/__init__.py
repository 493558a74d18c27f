"""Queries on diagrams: exact variable elimination (``exact``), seeded simulation
(``sampling``) and exact-versus-simulated cross-checks (``crosscheck``)."""
