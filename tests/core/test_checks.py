"""hsearch.checks: the one integer (and number) check."""

from __future__ import annotations

import numpy as np
import pytest

from hsearch.checks import check_int, is_int, is_number
from hsearch.errors import UserError


def test_booleans_are_neither_integers_nor_numbers():
    assert is_int(3) and is_int(np.int64(3)) and not is_int(True) and not is_int(3.0)
    assert is_number(0.5) and is_number(np.float32(0.5)) and is_number(2)
    assert not is_number(False) and not is_number("1") and not is_number(None)


def test_check_int_names_the_rule_and_the_value():
    assert check_int("seeds", np.int64(4), 1) == 4 and type(check_int("seeds", 4, 1)) is int
    with pytest.raises(UserError, match=r"^`search.seed >= 0` must hold \(an integer\), but got "
                                        r"seed=-1$"):
        check_int("search.seed", -1, 0)
    with pytest.raises(UserError, match="but got seeds=True"):
        check_int("seeds", True, 1)
    with pytest.raises(TypeError, match="`n` must hold"):
        check_int("n", 2.0, error=TypeError)
