"""The page: server-rendered HTML of the negotiations (``/``) and of one negotiation
(``/n/{id}``) with its timeline, commitments, positions, time travel, live updates and audit
panel, read through what the composition hands over (``source.PageSource``)."""
