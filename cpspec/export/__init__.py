"""Output for people and for other tools: pictures in the paper's notation
(``drawing``) and the PRISM language for Storm and PRISM (``prism``)."""
