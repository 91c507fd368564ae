"""The Python noise generator: Random123 known answers and basic statistics."""
import os
import sys

import pytest

np = pytest.importorskip("numpy")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from dir7.noise import philox4x32_10, randn  # noqa: E402

KAT = [
    ([0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]),
    ([0xffffffff] * 4, [0xffffffff] * 2, [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]),
    ([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0],
     [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]),
]


@pytest.mark.parametrize("ctr,key,out", KAT)
def test_known_answers(ctr, key, out):
    assert list(philox4x32_10(np.array([ctr], dtype=np.uint64), key)[0]) == out


def test_statistics_and_prefix():
    z = randn(42, 0, 0, 100000)
    assert abs(z.mean()) < 0.02 and abs(z.var() - 1) < 0.02
    assert np.array_equal(randn(42, 0, 0, 7), z[:7])
    assert randn(42, 1, 0, 1)[0] != z[0]
