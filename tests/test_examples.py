"""examples.compose: ``centre`` is the spelling, ``center`` the old keyword still accepted."""

import numpy as np
import pytest

from infantpose.examples import compose


def test_compose_centre_and_old_center_keyword_agree():
    bg = np.zeros((60, 80, 3), np.uint8)
    person = np.full((20, 10, 3), 200, np.uint8)
    a = compose(bg, person, (30.0, 25.0))
    assert a[25, 30].sum() > 0 and a[5, 70].sum() == 0  # pasted around (30, 25) only
    np.testing.assert_array_equal(a, compose(bg, person, centre=(30.0, 25.0)))
    np.testing.assert_array_equal(a, compose(bg, person, center=(30.0, 25.0)))
    with pytest.raises(TypeError):
        compose(bg, person)
    with pytest.raises(TypeError):
        compose(bg, person, (1.0, 2.0), center=(1.0, 2.0))
