"""hsearch.train.batches: the seeded batch stream and the thread cap both trainers share."""

import torch

from hsearch.train.batches import BatchStream, at_most_threads


def test_the_stream_cuts_equal_batches_that_cover_each_permutation():
    stream = BatchStream(10, 4, torch.device("cpu"), seed=3)
    batches = [stream.next() for _ in range(5)]  # 20 indices: two whole permutations
    assert {b.numel() for b in batches} == {4}
    flat = torch.cat(batches)
    assert sorted(flat[:10].tolist()) == list(range(10))
    assert sorted(flat[10:].tolist()) == list(range(10))
    again = BatchStream(10, 4, torch.device("cpu"), seed=3)
    assert all(torch.equal(b, again.next()) for b in batches)
    assert BatchStream(3, 8, torch.device("cpu"), seed=0).next().numel() == 3  # capped at n


def test_the_thread_cap_is_undone_even_after_an_error():
    before = torch.get_num_threads()
    try:
        with at_most_threads(1):
            assert torch.get_num_threads() == 1
            raise KeyError("inside")
    except KeyError:
        pass
    assert torch.get_num_threads() == before
