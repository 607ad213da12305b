"""The model search step beside NOMAD's poll (hsearch.search.nomad.model_search) and the
ask/tell core with it: proposals, the known-objective rule, batches, failures, resume."""

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.special import ndtr

from hsearch.search import MadsAskTell, MadsSettings
import hsearch.search.nomad.model_search as model_search
from hsearch.search.nomad.gp import AdditiveGP, cross_kernel
from hsearch.search.nomad.model_search import ModelSearch, refit_size
from hsearch.search.nomad.restarts import snap_many
from hsearch.search.nomad.settings import Evaluation
from tests.search.test_mads_features import Table as TableProblem


class Table(TableProblem):
    """The shipped table at a threshold, called as a blackbox; ``core`` builds the search."""

    def __call__(self, x):
        return self.blackbox(x)

    def core(self, max_evals=40, **kw):
        return MadsAskTell(self.settings(max_evals=max_evals, **kw), known=self.known,
                           network_key=self.network)


def run(core, blackbox, rounds=None, on_ask=None):
    """Drive ``core``; returns the asked points in order (each ask's list as a tuple)."""
    asked = []
    try:
        while not core.finished and (rounds is None or len(asked) < rounds):
            points = core.ask(timeout=30.0)
            if not points:
                continue
            if on_ask is not None:
                on_ask(core, points)
            asked.append(tuple(tuple(float(v) for v in p) for p in points))
            core.tell(points, [blackbox(p) for p in points])
    finally:
        core.close()
    return asked


@pytest.fixture(scope="module")
def table():
    return Table(0.952)


def test_gp_gradient_is_the_likelihood_s_and_the_fit_is_deterministic():
    rng = np.random.default_rng(0)
    u = rng.random((25, 3))
    y = np.sin(3 * u[:, 0]) + u[:, 1] ** 2 + 0.05 * rng.standard_normal(25)
    z = (y - y.mean()) / y.std()
    sq = (u.T[:, :, None] - u.T[:, None, :]) ** 2
    gp = AdditiveGP()
    theta = gp._start(3)[0] + 0.1
    numeric = approx_fprime(theta, lambda t: gp._nll(t, sq, z)[0], 1e-6)
    assert np.allclose(gp._nll(theta, sq, z)[1], numeric, atol=1e-3)
    a, b = AdditiveGP().fit(u, y), AdditiveGP().fit(u, y)
    assert np.array_equal(a.theta, b.theta)
    mean, sd = a.predict(u[:5])
    assert np.all(np.abs(mean - y[:5]) < 0.3) and np.all(sd > 0)


def test_a_lower_noise_floor_lets_the_gp_follow_a_deterministic_function_closer():
    """g06's first constraint on 40 points of its box: the likelihood wants less noise than
    the default floor allows, and with a lower floor the predictions elsewhere are closer."""
    rng = np.random.default_rng(3)
    u, v = rng.random((40, 2)), rng.random((200, 2))

    def g1(u):
        return -(87 * u[:, 0] + 8) ** 2 - (100 * u[:, 1] - 5) ** 2 + 100

    default, low = AdditiveGP().fit(u, g1(u)), AdditiveGP(noise_floor=0.005).fit(u, g1(u))
    assert math.exp(default.theta[-1]) == pytest.approx(0.02)
    assert 0.005 - 1e-12 <= math.exp(low.theta[-1]) < 0.02
    error = [np.abs(gp.predict(v)[0] - g1(v)).mean() for gp in (default, low)]
    assert error[1] < 0.7 * error[0]


def test_predictions_made_in_blocks_are_the_gp_s_posterior():
    """Mean and spread from the kernel made block by block equal the textbook formulas."""
    rng = np.random.default_rng(1)
    u, v = rng.random((40, 4)), rng.random((3000, 4))
    y = np.sin(4 * u[:, 0]) + u[:, 1] * u[:, 2] + 0.01 * rng.standard_normal(40)
    gp = AdditiveGP().fit(u, y)
    mean, sd = gp.predict(v)
    _, s2, k = gp._kernel(gp.theta, (v.T[:, :, None] - u.T[:, None, :]) ** 2)
    _, _, kuu = gp._kernel(gp.theta, (u.T[:, :, None] - u.T[:, None, :]) ** 2)
    kuu += (np.exp(2 * gp.theta[-1]) + 1e-8) * np.eye(len(u))
    z = (y - y.mean()) / y.std()
    var = s2.sum() - np.sum(k.T * np.linalg.solve(kuu, k.T), axis=0)
    assert np.allclose(mean, y.mean() + y.std() * (k @ np.linalg.solve(kuu, z)), atol=1e-9)
    assert np.allclose(sd, y.std() * np.sqrt(np.maximum(var, 1e-12)), atol=1e-7)


def test_an_observation_s_spread_is_the_latent_function_s_and_the_noise_s():
    rng = np.random.default_rng(4)
    u, v = rng.random((30, 3)), rng.random((50, 3))
    y = np.cos(3 * u[:, 0]) + 0.2 * rng.standard_normal(30)
    gp = AdditiveGP().fit(u, y)
    (mean, latent), (same, observed) = gp.predict(v), gp.predict(v, observed=True)
    noise = y.std() * math.exp(gp.theta[-1])
    assert noise > 0.05 and np.array_equal(mean, same)
    assert np.allclose(observed ** 2, latent ** 2 + noise ** 2, rtol=1e-9)
    assert np.all(observed > latent)


def test_hyperparameters_kept_from_an_earlier_fit_still_see_every_point():
    rng = np.random.default_rng(2)
    u = rng.random((30, 2))
    y = np.sin(5 * u[:, 0]) + 0.001 * rng.standard_normal(30)
    early = AdditiveGP().fit(u[:20], y[:20])
    late = AdditiveGP().fit(u, y, early.theta)
    assert np.array_equal(late.theta, early.theta)
    assert np.allclose(late.predict(u[20:])[0], y[20:], atol=0.05)  # the 10 new points


def test_hyperparameters_are_refitted_at_every_point_while_fits_are_small_or_points_few():
    assert [refit_size(n, 2, 3) for n in range(1, 37)] == list(range(1, 37))  # NAS box
    assert [refit_size(n, 5, 4) for n in range(1, 21)] == list(range(1, 21))  # 4 coordinates
    sizes = [refit_size(n, 9, 10) for n in range(1, 121)]  # 10 coordinates, 8 constraints
    assert sizes[:21] == list(range(1, 22))  # 21 hyperparameters per model: every point
    assert all(r <= n for n, r in enumerate(sizes, 1)) and sizes == sorted(sizes)
    refits = sorted(set(sizes[21:]))
    assert refits == [21, 27, 34, 43, 54, 68, 85, 107]


def test_snapped_points_are_the_nearest_grid_points_in_the_box():
    settings = MadsSettings(lower=(-1.3, 0.0, 2.0, 0.0), upper=(2.2, 7.0, 9.0, 1.0),
                            x0=((0.0, 1.0, 3.0, 0.5),), input_types=("R", "I", "I", "R"),
                            granularity=(0.25, 0.0, 2.0, 0.0), max_evals=10)
    u = np.random.default_rng(3).random((500, 4))
    u[:3] = [[0.0], [1.0], [0.5]]  # two corners and the centre
    lo, hi = np.array(settings.lower), np.array(settings.upper)
    raw = lo + u * (hi - lo)
    keys = np.array(snap_many(settings, u))
    assert np.all((keys >= lo) & (keys <= hi))
    assert np.array_equal(keys[:, 3], raw[:, 3])  # continuous: as drawn
    assert np.array_equal(keys[:, 1], np.round(raw[:, 1]))  # integer: the nearest
    for j, step in ((0, 0.25), (2, 2.0)):
        assert np.allclose(keys[:, j] / step, np.round(keys[:, j] / step))  # on the grid
        inside = (raw[:, j] - step / 2 >= lo[j]) & (raw[:, j] + step / 2 <= hi[j])
        assert np.all(np.abs(keys[inside, j] - raw[inside, j]) <= step / 2 + 1e-12)


def test_the_step_proposes_untried_grid_points_that_can_improve(table):
    """With a known objective no proposal of the step has a known objective at or above the
    best feasible point's when it is handed out; every one is an untried grid point."""
    for seed in range(3):
        core = table.core(seed=seed)
        seen = set()

        def check(core, points):
            best = core.best_feasible()
            for p in points:
                key = tuple(float(v) for v in p)
                assert key not in seen
                seen.add(key)
                assert all(v == round(v) and lo <= v <= hi for v, lo, hi in
                           zip(key, core.settings.lower, core.settings.upper))
                if key in core._model_handed and best is not None:
                    assert table.known(key) < best[1]

        run(core, table, on_ask=check)
        assert sum(e.source == "model" for e in core.history) >= 5


def test_no_point_handed_out_to_a_worker_can_no_longer_improve(table):
    """Eight workers, one result at a time (as on a cluster): a point of NOMAD's block that
    waited while a better feasible point was found is screened, not handed out, so no worker
    trains a network whose known objective is at or above the best feasible one."""
    for seed in range(4):
        core = table.core(seed=seed, block_size=8, max_evals=60)
        running = []
        try:
            while not core.finished:
                points = core.ask(max_points=8 - len(running), timeout=30.0)
                best = core.best_feasible()
                for p in points:
                    assert best is None or table.known(p) < best[1]
                running += points
                if running and not points:
                    done = running.pop(0)
                    core.tell([done], [table(done)])
        finally:
            core.close()


def test_the_models_see_a_network_at_the_centre_of_its_grid_points(table):
    """Depth indices 0 and 1 are one network of the table (as are resolution indices 0 and 1,
    and depth indices 2-4): once networks are given, a network's points share the centre of
    its grid points; without networks every point keeps its place. An enumerated grid also
    gets its own rhythm, prior and noise floor (``points_per_poll``, the length-scale prior,
    the smallest noise)."""
    core = table.core()
    core.close()
    step = ModelSearch(core.settings)
    points = [(1.0, 0.0, 2.0), (1.0, 1.0, 2.0), (1.0, 3.0, 0.0), (1.0, 3.0, 1.0)]
    assert np.array_equal(step._coords(points), step._unit(points))
    step._group(table.network)
    u = step._coords(points)
    assert np.array_equal(u[0], u[1]) and u[0] == pytest.approx([0.2, 0.1, 0.25])
    assert np.array_equal(u[2], u[3]) and u[2] == pytest.approx([0.2, 0.6, 0.5 / 8])
    continuous = ModelSearch(MadsSettings(lower=(0.0, 0.0), upper=(1.0, 1.0), x0=((0.5, 0.5),),
                                          n_constraints=1, max_evals=10))
    assert (step.points_per_poll, continuous.points_per_poll) == (6, 3)
    assert step._prior_length < continuous._prior_length
    assert step._noise_floor > continuous._noise_floor == model_search.BOX_NOISE_FLOOR


def test_p_feasible_is_that_of_a_result_so_the_model_s_noise_counts(table):
    """On the table the constraint's model has a noise term (each network's mean departs from
    the trend), and a network the trend puts past the line keeps the chance that its own
    result is inside: more than the latent function alone gives it."""
    core = table.core(seed=3, max_evals=20)
    run(core, table)
    ok = [e for e in core.history if e.status == "ok"]
    step = ModelSearch(core.settings)
    step._group(table.network)
    block = step._blocks([], incumbent=False)[0]
    pof = step._pof(ok, [(block, np.arange(len(block[1])))])
    model = step._model(ok, 1)
    mean, latent = model.predict(block[2])
    noise = model._scale * math.exp(model.theta[-1])
    assert noise > 0
    assert np.allclose(pof, ndtr(-mean / np.hypot(latent, noise)), rtol=1e-9, atol=1e-12)
    past = mean > 0
    assert past.any() and np.all(pof[past] > ndtr(-mean / latent)[past])


def test_the_step_is_off_with_one_setting(table):
    core = table.core(model_search=False)
    run(core, table)
    assert core.n_evaluations > 0
    assert all(e.source == "nomad" for e in core.history)


@pytest.mark.parametrize("block_size", [1, 4])
def test_resume_with_the_step_asks_what_an_uninterrupted_run_asks(table, block_size):
    reference = run(table.core(seed=3, block_size=block_size, max_evals=30), table)
    first = table.core(seed=3, block_size=block_size, max_evals=30)
    head = run(first, table, rounds=7)
    saved = first.state_dict()
    assert saved["version"] == 3
    resumed = MadsAskTell.from_state(saved, known=table.known, network_key=table.network)
    tail = run(resumed, table)
    assert head + tail == reference
    assert any(e.source == "model" for e in resumed.history)


def continuous_box(last_granularity: float, **kw) -> MadsSettings:
    """A box of a real, an integer and a real coordinate with two constraints (``bowl``)."""
    return MadsSettings(lower=(0.0, 0.0, 0.0), upper=(1.0, 10.0, 2.0), x0=((0.5, 5.0, 1.0),),
                        input_types=("R", "I", "R"), granularity=(0.0, 0.0, last_granularity),
                        n_constraints=2, **kw)


def bowl(x):
    return [(x[0] - 0.3) ** 2 + (x[1] - 7) ** 2 / 20 + x[2], 0.2 - x[0], x[1] - 8.0]


def test_off_the_grid_p_feasible_is_the_latent_function_s():
    """A continuous box's outputs are deterministic: the models' noise is misfit there, and
    P(feasible) leaves it out."""
    core = MadsAskTell(continuous_box(0.0, max_evals=20, seed=1))
    run(core, bowl)
    ok = [e for e in core.history if e.status == "ok"]
    step = ModelSearch(core.settings)
    block = step._blocks([ok[0].x], incumbent=False)[0]
    pof = step._pof(ok, [(block, np.arange(len(block[1])))])
    latent = np.ones(len(block[1]))
    for j in (1, 2):
        mean, sd = step._model(ok, j).predict(block[2])
        latent *= ndtr(-mean / sd)
    assert np.allclose(pof, latent, rtol=1e-12, atol=1e-15)
    assert 0 < pof.mean() < 1


def test_off_the_grid_a_batch_keeps_its_points_apart_by_the_box_spread_only():
    """Four workers on a box of two real and one integer coordinate (one result at a time): no
    two running points of the step on one integer value are within ``BOX_SPREAD`` of the box
    of each other along both real coordinates, and some are within a tenth of it, so that a
    batch can refine the best region (a spread of a tenth of the box kept all but one point of
    a batch out of g06's thin feasible region)."""
    settings = continuous_box(0.0, max_evals=40, seed=2, block_size=4)
    span = np.array(settings.upper) - np.array(settings.lower)
    continuous = np.array([t == "R" for t in settings.input_types])
    core = MadsAskTell(settings)
    running, closest = [], np.inf
    try:
        while not core.finished:
            points = core.ask(max_points=4 - len(running), timeout=30.0)
            running += points
            mine = [np.array(p) / span for p in running if tuple(p) in core._model_handed]
            for a, b in itertools.combinations(mine, 2):
                if np.all(a[~continuous] == b[~continuous]):
                    gap = np.max(np.abs(a - b)[continuous])
                    assert gap > model_search.BOX_SPREAD
                    closest = min(closest, gap)
            if running and not points:
                done = running.pop(0)
                core.tell([done], [bowl(done)])
    finally:
        core.close()
    assert closest < 0.1


def test_resume_on_a_continuous_box_asks_what_an_uninterrupted_run_asks(monkeypatch):
    """With hyperparameters kept between refits (a small ``REFIT_SIZE``, so that the schedule
    starts at 7 points), a resumed search fits them again from its log: the same points."""
    monkeypatch.setattr(model_search, "REFIT_SIZE", 200)
    settings, blackbox = continuous_box(0.25, max_evals=30, seed=4), bowl
    reference = run(MadsAskTell(settings), blackbox)
    first = MadsAskTell(settings)
    head = run(first, blackbox, rounds=14)
    resumed = MadsAskTell.from_state(first.state_dict())
    tail = run(resumed, blackbox)
    assert head + tail == reference
    assert sum(e.source == "model" for e in resumed.history) >= 3


def test_the_step_looks_closer_around_the_best_feasible_point_than_around_the_others():
    """Off the grid, the candidates around the best feasible point reach a thousandth of the box
    (``INCUMBENT_SCALES``); around any other centre they stay at ``LOCAL_SCALES``."""
    settings = MadsSettings(lower=(0.0,) * 5, upper=(1.0,) * 5, x0=((0.5,) * 5,),
                            n_constraints=1, max_evals=10)
    centre = (0.3, 0.6, 0.5, 0.4, 0.7)

    def close_candidates(incumbent: bool) -> int:
        _, (_, keys, _) = ModelSearch(settings)._blocks([centre], incumbent)
        return sum(max(abs(a - b) for a, b in zip(key, centre)) < 0.003 for key in keys)

    assert close_candidates(True) >= model_search.LOCAL_SAMPLES // 2
    assert close_candidates(False) == 0


def test_kept_kernel_columns_give_the_predictions_of_a_search_that_makes_them_anew(monkeypatch):
    """Between refits a model search keeps its candidates' kernel columns and adds only the new
    points': at every step its predictions equal, bit for bit, those of a new search given the
    same log (what a resumed search computes)."""
    monkeypatch.setattr(model_search, "REFIT_SIZE", 200)
    settings = continuous_box(0.0, max_evals=40, seed=2)
    core = MadsAskTell(settings)
    run(core, bowl)
    log = core.history

    class Recording(ModelSearch):
        def _predict(self, *args, **kwargs):
            mean, sd = super()._predict(*args, **kwargs)
            self.predictions.append(np.concatenate([mean, sd]))
            return mean, sd

    kept = Recording(settings)
    for n in range(12, len(log)):
        answered = {e.x for e in log[:n]}
        fresh = Recording(settings)
        for search in (kept, fresh):
            search.predictions = []
            search.propose(log[:n], 3, answered, None, None, n_model=99)
        assert len(kept.predictions) == len(fresh.predictions) > 0
        assert all(map(np.array_equal, kept.predictions, fresh.predictions))
    objective = [seen for (_, output), (_, seen, _) in kept._kernels.items() if output == 0]
    assert objective and all(len(seen) > 20 for seen in objective)


def test_a_ranking_read_in_part_scores_few_rows_and_read_whole_is_the_full_order():
    """Expected improvement times P(feasible): the first rows come from the P(feasible) of a
    few candidates of high expected improvement; the whole order is the order of all scores."""
    rng = np.random.default_rng(5)
    ei = np.where(rng.random(3000) < 0.3, 0.0, rng.exponential(size=3000))
    pof = rng.random(3000)
    asked = []

    def pof_of(rows):
        asked.extend(rows.tolist())
        return pof[rows]

    ranking = model_search._Ranking(ei, pof_of)
    first = list(itertools.islice(ranking, 3))
    assert len(asked) < 300
    full = np.lexsort((np.arange(3000), -ei * pof))
    assert first == full[:3].tolist()
    assert list(ranking) == full.tolist()
    assert len(set(asked)) == len(asked) == np.count_nonzero(ei)


def test_the_lazy_order_on_a_continuous_box_is_that_of_the_scores():
    """Constraints predicted for a few candidates give each the numbers it gets among all."""
    settings = continuous_box(0.0, max_evals=40, seed=2)
    core = MadsAskTell(settings)
    run(core, bowl)
    log = core.history
    checked = 0
    for n in range(12, len(log), 3):
        ok = [e for e in log[:n] if e.status == "ok"]
        feasible = [e for e in ok if max(e.outputs[1:]) <= 0]
        if not feasible:
            continue
        best = min(feasible, key=lambda e: e.outputs[0])
        search = ModelSearch(settings)
        picks = search._untried(search._blocks([best.x], True), {e.x for e in ok}, set(), None)
        lazy = search._order(ok, best, picks, None)
        assert isinstance(lazy, model_search._Ranking)
        scores = search._score(ok, best, picks, None)
        assert list(lazy) == np.lexsort((np.zeros(len(scores)), -scores)).tolist()
        checked += 1
    assert checked >= 5


def test_untried_candidates_by_set_operations_are_those_found_point_by_point():
    """With ``taken`` a set, the step excludes taken points, trained points and repeats of an
    earlier block by set operations; a container it must test point by point gives the same
    candidates and proposals (some taken points lie in the step's own samples)."""
    settings = continuous_box(0.0, max_evals=30, seed=3)
    core = MadsAskTell(settings)
    run(core, bowl)
    log = core.history

    class Points:  # a container that is no set
        def __init__(self, keys):
            self.keys = keys

        def __contains__(self, key):
            return key in self.keys

    by_sets, one_by_one = ModelSearch(settings), ModelSearch(settings)
    for n in range(12, len(log), 3):
        blocks = by_sets._blocks([e.x for e in log[:n]][-3:], incumbent=True)
        taken = {e.x for e in log[:n:2]} | set(blocks[0][1][::97]) | set(blocks[2][1][::5])
        trained = {e.x for e in log[:n] if e.trained}
        fast = by_sets._untried(blocks, frozenset(taken), trained, None)
        slow = one_by_one._untried(blocks, Points(taken), trained, None)
        assert [rows.tolist() for _, rows in fast] == [rows.tolist() for _, rows in slow]
        kept = [blocks[b][1][r] for b, (_, rows) in enumerate(fast) for r in rows]
        assert len(set(kept)) == len(kept) and not set(kept) & (taken | trained)
        assert sum(len(rows) for _, rows in fast) < sum(len(keys) for _, keys, _ in blocks)
        args = (log[:n], 3)
        assert (by_sets.propose(*args, frozenset(taken), None, None, n_model=99)
                == one_by_one.propose(*args, Points(taken), None, None, n_model=99))


def test_kernel_columns_are_the_same_numbers_made_apart_or_together():
    rng = np.random.default_rng(3)
    u, v = rng.random((37, 5)), rng.random((1001, 5))
    theta = rng.normal(-0.5, 0.5, 11)
    whole = cross_kernel(theta, v, u)
    columns = np.concatenate([cross_kernel(theta, v, u[j:j + 1]) for j in range(37)], axis=1)
    rows = np.concatenate([cross_kernel(theta, v[i:i + 77], u) for i in range(0, 1001, 77)])
    assert np.array_equal(whole, columns) and np.array_equal(whole, rows)
    _, _, textbook = AdditiveGP._kernel(theta, (v.T[:, :, None] - u.T[:, None, :]) ** 2)
    assert np.allclose(whole, textbook, rtol=1e-12, atol=0)


def test_free_workers_get_distinct_networks_spread_apart(table):
    core = table.core(block_size=4, max_evals=40)
    batches = []

    def check(core, points):
        running = [tuple(float(v) for v in p) for p in core.pending]
        nets = [table.network(p) for p in running]
        assert len(set(nets)) == len(nets)
        batches.append(len(points))

    run(core, table, on_ask=check)
    assert batches[0] == 4  # NOMAD's x0 and three points of the space-filling design
    assert max(batches) == 4


def test_asked_one_by_one_a_batch_gets_the_same_points(table):
    whole = run(table.core(block_size=4, max_evals=24, seed=1), table)

    def one_by_one(core, blackbox):
        asked, running = [], []
        try:
            while not core.finished:
                p = core.ask(max_points=1, timeout=30.0)
                if p:
                    running += p
                    continue
                if running:
                    asked.append(tuple(tuple(float(v) for v in q) for q in running))
                    core.tell(running, [blackbox(q) for q in running])
                    running = []
        finally:
            core.close()
        return asked

    assert one_by_one(table.core(block_size=4, max_evals=24, seed=1), table) == whole


def test_a_failed_evaluation_does_not_change_the_model_s_proposal(table):
    core = table.core(seed=5, max_evals=12)
    run(core, table)
    log = [e for e in core.history if e.status == "ok"]
    failed = (5.0, 0.0, 4.0)
    assert all(e.x != failed for e in log)
    with_failure = log + [Evaluation(failed, None, "failed", 0, "model")]

    taken = {failed} | {e.x for e in log}
    step = ModelSearch(core.settings)
    args = (3, taken, table.known, table.network, 10)
    assert step.propose(with_failure, *args) == ModelSearch(core.settings).propose(log, *args)


def test_the_step_works_on_mixed_spaces_with_two_constraints_and_no_known_objective():
    """Continuous, integer and granular coordinates; two constraints; the objective modelled."""
    settings = MadsSettings(lower=(0.0, 0.0, 0.0), upper=(1.0, 10.0, 2.0),
                            x0=((0.5, 5.0, 1.0),), input_types=("R", "I", "R"),
                            granularity=(0.0, 0.0, 0.25), n_constraints=2, max_evals=30,
                            block_size=2, seed=0)

    def blackbox(x):
        f = (x[0] - 0.3) ** 2 + (x[1] - 7) ** 2 / 20 + (x[2] - 1.5) ** 2
        return [f, 0.2 - x[0], x[1] - 8.0]

    core = MadsAskTell(settings)
    run(core, blackbox)
    model = [e for e in core.history if e.source == "model"]
    assert len(model) >= 5
    for e in model:
        assert 0 <= e.x[0] <= 1 and e.x[1] == round(e.x[1])
        assert e.x[2] / 0.25 == round(e.x[2] / 0.25)
    best = core.best_feasible()
    assert best is not None and best[1] < blackbox(settings.x0[0])[0]


def test_the_step_works_without_constraints():
    settings = MadsSettings(lower=(-2.0, -2.0), upper=(2.0, 2.0), x0=((1.5, 1.5),),
                            max_evals=25, seed=2)
    core = MadsAskTell(settings)
    run(core, lambda x: [float((x[0] - 0.5) ** 2 + (x[1] + 0.7) ** 2)])
    assert any(e.source == "model" for e in core.history)
    assert core.best_feasible()[1] < 0.1


def test_a_state_saved_before_the_step_resumes_without_it(table):
    core = table.core(seed=1, max_evals=10, model_search=False)
    run(core, table, rounds=4)
    saved = core.state_dict()
    saved["version"] = 2
    del saved["settings"]["model_search"]
    for key in ("model_handed", "model_requeued", "since_model", "model_streak", "restart_due"):
        del saved[key]
    saved["log"] = [row[:4] for row in saved["log"]]
    resumed = MadsAskTell.from_state(saved, known=table.known, network_key=table.network)
    assert resumed.settings.model_search is False
    run(resumed, table)
    assert resumed.n_evaluations == 10 and math.isfinite(resumed.best_feasible()[1])
