"""The fingerprint's fast canonical JSON gives canonical_json's bytes exactly."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from events import canonical_json
from projections.live.store import canonical_bytes

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e-05, 1e-07, 0.0001, 10.00001, 1e16, 1e-320, -0.0, 2500.0])
    | st.sampled_from(["9c1e-4b2d", "a:1e-5", "[0.00001", ",-0.0000"])
    | st.text(st.characters(exclude_categories=["Cs"]))
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(value=JSON)
def test_canonical_bytes_equal_canonical_json(value: Any) -> None:
    assert canonical_bytes(value) == canonical_json(value)
