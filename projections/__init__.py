"""Projections: pure reducers (``negotiation``), views derived from them (``timeline``),
point-in-time folds (``asof``) and one-line descriptions. No I/O here."""
