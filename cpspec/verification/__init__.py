"""Agent definitions read as specifications: the properties (``properties``), the
decision procedures and their verdicts (``procedures``), parameter synthesis
(``synthesis``) and models as theories of data (``theory``)."""
