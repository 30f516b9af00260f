import numpy as np
import pytest

from meanfield.seeding import as_generator, seed_record, spawn_generators


def test_same_seed_same_stream_and_no_global_state():
    state = np.random.get_state()[1].copy()
    a = as_generator(3).random(5)
    b = as_generator(3).random(5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, as_generator(4).random(5))
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_generator_passthrough_and_spawn():
    g = np.random.default_rng(1)
    assert as_generator(g) is g
    s1 = [x.random() for x in spawn_generators(7, 2)]
    s2 = [x.random() for x in spawn_generators(7, 3)][:2]
    assert s1 == s2 and s1[0] != s1[1]


@pytest.mark.parametrize("bad,exc", [(-1, ValueError), (1.5, TypeError), ("x", TypeError), (True, TypeError)])
def test_bad_seeds(bad, exc):
    with pytest.raises(exc):
        as_generator(bad)


def test_seed_record():
    assert seed_record(5) == 5 and seed_record(None) is None
