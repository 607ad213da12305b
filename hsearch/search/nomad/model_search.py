"""The model search step beside NOMAD's poll: which untried points to train next.

A Gaussian process (:class:`~hsearch.search.nomad.gp.AdditiveGP`) of every modelled output is
fitted on the log's *trained, ok* points (failed and non-finite evaluations never reach it):
each constraint always, the objective only when no exact ``known`` objective is given. Its
hyperparameters are fitted anew at every point while the models are small or the points few,
and on a large problem only each time the points have grown by a quarter (``refit_size``; in
between, the models keep them and still see every point, and the candidates' kernel columns
are kept too). The step proposes points of a candidate set on
the settings' grid (every grid point of an all-grid box up to ``MAX_ENUMERATED``; otherwise a
space-filling sample plus points around the best trained ones, at finer scales too around the
best feasible one, snapped to the grid):

* with a known objective: among untried candidates *cheaper than the best feasible point*
  (so never one that cannot improve), the one most likely to be the cheapest feasible,
  ``PoF(x) * prod over cheaper untried networks c of (1 - PoF(c))``, before anything is
  feasible too (among all candidates then: the most likely feasible would be the largest
  networks, the slowest to train);
* without one: expected improvement of the objective times the probability of feasibility
  (before anything is feasible: the probability alone; without constraints: the expected
  improvement alone). A product is at most its expected improvement, so the constraints are
  predicted only for the candidates that may rank among those asked for (``_Ranking``).

P(feasible) is that of a candidate's result on an enumerated grid (the model's noise counted:
a network's result departs from the trend) and of the latent functions elsewhere
(``GRID_POF_OF_RESULTS``).

When points are grouped into networks (``network``) on an enumerated grid, the models see each
network at the centre of its grid points: points that are one network are one observation, and
the next network along an axis is as far as its points are (on the NAS table two resolution
multipliers give one input size, two depth multipliers one depth).

A batch of ``k`` proposals takes the best candidates that are other networks and no grid
neighbours of a running point or of one chosen before (off the grid: no nearer than
``BOX_SPREAD``; the rest of the order fills the batch if too few are left), so ``k`` points
asked one by one are the ``k`` of one batch. The first ``DESIGN_POINTS`` proposals (at least
the block size), and all while fewer than ``MIN_POINTS`` points are ok, come from a Latin
hypercube instead. Everything here is a deterministic function of the settings and the
arguments it is given: a replayed or resumed search proposes the same points.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Container, Hashable, Iterable, Iterator, Sequence, Set

import numpy as np
from scipy.special import ndtr  # the normal distribution function
from scipy.stats import norm

from hsearch.search.nomad.gp import (NOISE_FLOOR, PRIOR_LENGTH, AdditiveGP, cross_kernel,
                                     squared_differences)
from hsearch.search.nomad.restarts import snap_many, space_filling
from hsearch.search.nomad.settings import Evaluation, MadsSettings

__all__ = ["ModelSearch", "MIN_POINTS", "MAX_ENUMERATED", "POINTS_PER_POLL",
           "GRID_POINTS_PER_POLL", "BOX_NOISE_FLOOR", "INCUMBENT_SCALES", "BOX_SPREAD"]

Key = tuple[float, ...]

#: the first model proposals come from one Latin hypercube of this many points (at least the
#: block size).
DESIGN_POINTS = 4
#: ok points needed before a model is fitted (earlier proposals are space-filling).
MIN_POINTS = 3
#: an all-grid box with at most this many points is searched exhaustively by the model.
MAX_ENUMERATED = 4096
#: candidates drawn on a larger or continuous box: space-filling, and per local centre.
GLOBAL_SAMPLES = 1024
LOCAL_SAMPLES = 128
LOCAL_SCALES = (0.02, 0.05, 0.1, 0.2)
#: around the best feasible point, these scales too (this many points each): they refine it
#: along a constraint's boundary (measured on the analytic problems:
#: experiments/results/mads_model_search.md).
INCUMBENT_SCALES = (0.005, 0.001)
INCUMBENT_SAMPLES = 128
#: one trial at a time, the step proposes this many points in a row after each of NOMAD's;
#: on an enumerated grid more, and its models' length scales are drawn towards a shorter
#: share of the box (measured on the NAS table and the analytic problems:
#: experiments/results/mads_model_search.md).
POINTS_PER_POLL = 3
GRID_POINTS_PER_POLL = 6
GRID_PRIOR_LENGTH = 0.15
#: off an enumerated grid (a box with continuous coordinates or too many points) its models may
#: choose a smaller noise than the GP's default ``NOISE_FLOOR``, so that they all but
#: interpolate a deterministic function (g06's feasible crescent is about 0.1 wide); measured on
#: the analytic problems, experiments/results/mads_model_search.md. The NAS table keeps the
#: default.
BOX_NOISE_FLOOR = 0.005
#: on an enumerated grid P(feasible) is that of a candidate's result, its model's noise
#: counted: each network's result departs from the trend (on the NAS table the cheapest
#: feasible network is often one the trend puts just past the line). Off the grid it is the
#: latent function's: there the noise is the misfit of a deterministic function, and counting
#: it blurs a thin feasible region (both measured: experiments/results/mads_model_search.md).
GRID_POF_OF_RESULTS = True
#: the models' hyperparameters are fitted anew at every number of ok points n while a fit is
#: small (outputs x dimension x n^2 at most ``REFIT_SIZE``) or n is at most their number per
#: model (2 x dimension + 1: fewer points determine them poorly), then each time the points
#: have grown by ``REFIT_GROWTH``; in between, the last fit's are kept (the models still see
#: every point), so that most decisions on a large problem fit nothing.
REFIT_SIZE = 8192
REFIT_GROWTH = 1.25
#: fewer than 1 / ``FEW_ROWS`` of a candidate block's rows are not worth keeping its columns.
FEW_ROWS = 8
#: a batch's points are this share of the box apart along some continuous coordinate (or one
#: step along a grid coordinate): the coarser scale sampled around the best feasible point
#: (``INCUMBENT_SCALES``), so a batch can refine a thin feasible region too. A tenth of the box
#: kept all but one point of a batch away from it: at 8 trials at once on g06, 5 of 60 runs
#: found a feasible point (experiments/results/mads_model_search.md).
BOX_SPREAD = 0.005
#: expected improvement times P(feasible): the constraints of this many candidates are
#: predicted first, then as many again as are done, and so on (``_Ranking``).
FIRST_RANKED = 64


@functools.cache
def _blas_controller():
    """One thread for BLAS while a decision fits and predicts: these matrices are small, and
    BLAS threads on a busy machine cost more than the arithmetic."""
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()


class ModelSearch:
    """Proposals of the model search step for one search (module docstring).

    ``propose(log, k, taken, known, network)``: up to ``k`` new points. ``taken`` holds the
    points that must not be proposed (answered, handed out, queued); ``network``
    maps a point to its network (None: every point is its own); ``known`` is the exact
    objective or None.
    """

    def __init__(self, settings: MadsSettings):
        self.settings = settings
        lower, upper = np.array(settings.lower), np.array(settings.upper)
        self._lower = lower
        self._span = np.where(upper > lower, upper - lower, 1.0)
        self._steps = np.array([g if g > 0 else (1.0 if t == "I" else 0.0)
                                for g, t in zip(settings.granularity, settings.input_types)])
        self._grid = self._enumerate()
        enumerated = self._grid is not None
        self.points_per_poll = GRID_POINTS_PER_POLL if enumerated else POINTS_PER_POLL
        self._prior_length = GRID_PRIOR_LENGTH if enumerated else PRIOR_LENGTH
        self._noise_floor = NOISE_FLOOR if enumerated else BOX_NOISE_FLOOR
        self._pof_of_results = enumerated and GRID_POF_OF_RESULTS
        self._centres: dict[Key, Key] = {}
        self._fits: dict[tuple[int, int], AdditiveGP | None] = {}
        self._thetas: dict[tuple[int, int], np.ndarray] = {}
        self._samples: dict[tuple, tuple[list[Key], np.ndarray]] = {}
        self._kernels: dict[tuple, tuple[bytes, np.ndarray, np.ndarray]] = {}
        self._members: dict[Hashable, tuple[dict[Key, int], frozenset]] = {}
        self._data: tuple[list[Evaluation], np.ndarray | None, np.ndarray | None] = (
            [], None, None)
        self.design_points = DESIGN_POINTS
        self._design_points: list[Key] | None = None

    # --- candidates -----------------------------------------------------------------------

    def _enumerate(self) -> list[Key] | None:
        """Every point of an all-grid box, if there are at most ``MAX_ENUMERATED``."""
        s = self.settings
        if not all(self._steps > 0):
            return None
        axes = []
        for lo, hi, step, t in zip(s.lower, s.upper, self._steps, s.input_types):
            n = int(math.floor((hi - lo) / step + 1e-9)) + 1
            if math.prod(len(a) for a in axes) * n > MAX_ENUMERATED:
                return None
            values = [lo + i * step for i in range(n)]
            axes.append([float(round(v)) if t == "I" else float(v) for v in values])
        return [tuple(p) for p in itertools.product(*axes)]

    def _unit(self, points) -> np.ndarray:
        return (np.asarray(points, dtype=float) - self._lower) / self._span

    def _group(self, network: Callable[[Key], Hashable] | None) -> None:
        """Map every point of an enumerated grid to the centre of its network's points (once,
        for the first ``network`` given)."""
        if network is None or self._grid is None or self._centres:
            return
        members: dict[Hashable, list[Key]] = {}
        for key in self._grid:
            members.setdefault(network(key), []).append(key)
        for keys in members.values():
            centre = tuple(np.mean(keys, axis=0).tolist())
            self._centres.update((_rounded(key), centre) for key in keys)

    def _coords(self, points) -> np.ndarray:
        """The models' coordinates of ``points``: unit-cube positions of their networks'
        centres (:meth:`_group`; the points themselves off the grid or without networks)."""
        if self._centres:
            points = [self._centres.get(_rounded(p), p) for p in points]
        return self._unit(points)

    def _blocks(self, centres: Sequence[Key], incumbent: bool
                ) -> list[tuple[Hashable, list[Key], np.ndarray]]:
        """The candidate set in blocks of (name, points, the models' coordinates of them): the
        whole grid, or the box's space-filling sample and one sample around each centre (the
        first is the best feasible point if ``incumbent``)."""
        if self._grid is not None:
            if "grid" not in self._samples:
                self._samples["grid"] = (self._grid, self._coords(self._grid))
            return [("grid", *self._samples["grid"])]
        return [(which, *self._sample(*which)) for which in [("box",)] + [
            (i, centre, incumbent and i == 0) for i, centre in enumerate(centres)]]

    def _sample(self, *which) -> tuple[list[Key], np.ndarray]:
        """The space-filling sample of the box (``"box"``), or the ``i``-th centre's local one
        (``i, centre, fine``: ``INCUMBENT_SCALES`` too if ``fine``), and its coordinates: a
        function of the settings and ``which``, kept once drawn."""
        if which not in self._samples:
            s = self.settings
            if which == ("box",):
                u = np.random.default_rng([s.seed, 7]).random((GLOBAL_SAMPLES, s.dimension))
            else:
                i, centre, fine = which
                u0 = self._unit([centre])[0]
                u = _around(u0, np.random.default_rng([s.seed, 11, i]), LOCAL_SCALES,
                            LOCAL_SAMPLES)
                if fine:
                    u = np.concatenate([u, _around(u0, np.random.default_rng([s.seed, 13, i]),
                                                   INCUMBENT_SCALES, INCUMBENT_SAMPLES)])
                if len(self._samples) > 64:  # old centres: forget them
                    self._samples = {k: v for k, v in self._samples.items() if k == ("box",)}
            keys = list(dict.fromkeys(snap_many(s, u)))
            self._samples[which] = (keys, self._coords(keys))
        return self._samples[which]

    # --- models ---------------------------------------------------------------------------

    def _model(self, ok: Sequence[Evaluation], output: int) -> AdditiveGP | None:
        """The model of ``output`` on the ``ok`` points; its hyperparameters are those fitted
        on the first ``refit_size(...)`` of them (on all, if those have one value)."""
        key = (len(ok), output)
        if key not in self._fits:
            self._fits = {k: v for k, v in self._fits.items() if k[0] == len(ok)}
            y = np.array([e.outputs[output] for e in ok])
            model = None
            if len(ok) >= MIN_POINTS and np.ptp(y) > 0:
                self._points(ok)  # shared by every output and prefix
                r = self._refit_size(len(ok))
                theta = None
                if r < len(ok) and np.ptp(y[:r]) > 0:
                    theta = self._thetas.get((r, output))
                    if theta is None:
                        theta = self._fit(ok[:r], y[:r]).theta
                        self._thetas[(r, output)] = theta
                model = self._fit(ok, y, theta)
                if theta is None:  # fitted on all n points: the refit at n, if n is one
                    self._thetas[(len(ok), output)] = model.theta
            self._fits[key] = model
        return self._fits[key]

    def _fit(self, ok, y, theta=None) -> AdditiveGP:
        u, sq = self._points(ok)
        return AdditiveGP(self._prior_length, self._noise_floor).fit(u, y, theta, sq)

    def _points(self, ok) -> tuple[np.ndarray, np.ndarray]:
        """The models' coordinates of the ``ok`` points and their squared differences, kept for
        the longest list asked so far (its prefixes share them)."""
        seen, u, sq = self._data
        if len(ok) > len(seen) or any(a is not b for a, b in zip(ok, seen)):
            u = self._coords([e.x for e in ok])
            seen, sq = list(ok), squared_differences(u)
            self._data = (seen, u, sq)
        if len(ok) < len(seen):
            return u[:len(ok)], np.ascontiguousarray(sq[:, :len(ok), :len(ok)])
        return u, sq

    def _predict(self, ok, output, picks, observed: bool = False
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and spread of ``output`` at the ``picks``: (block, rows of it) in order; of a
        result there if ``observed`` (the model's noise included)."""
        model = self._model(ok, output)
        m = _size(picks)
        if model is None:  # too few points or a constant output: its mean, no spread
            y = np.array([e.outputs[output] for e in ok])
            return np.full(m, y.mean()), np.full(m, 1e-9)
        k = np.empty((m, len(model.points)))
        start = 0
        for block, rows in picks:
            self._kernel_rows(block, rows, output, model, k[start:start + len(rows)])
            start += len(rows)
        return model.predict_from(k, observed)

    def _kernel_rows(self, block, rows, output, model, out: np.ndarray) -> None:
        """``model``'s kernel between the ``rows`` of ``block`` and its points, into ``out``.
        While the hyperparameters are kept (``refit_size``), a block's columns are kept too and
        only the new points' are made (the same numbers: ``gp.cross_kernel``); a few rows
        (``FEW_ROWS``) are made for themselves."""
        which, _, coords = block
        theta, points = model.theta, model.points
        n = len(points)
        if (self._refit_size(n) == n and self._refit_size(n + 1) > n  # theta for this n alone
                or len(rows) * FEW_ROWS < len(coords)):
            out[...] = cross_kernel(theta, coords[rows], points)
            return
        tag = theta.tobytes()
        old_tag, seen, k = self._kernels.get((which, output), (b"", points[:0], None))
        if old_tag != tag or not np.array_equal(seen, points[:len(seen)]):
            seen, k = points[:0], np.empty((len(coords), 0))
        if len(seen) < n:
            if k.shape[1] < n:  # room for the next points' columns too
                grown = np.empty((len(coords), 2 * n + 16))
                grown[:, :len(seen)] = k[:, :len(seen)]
                k = grown
            k[:, len(seen):n] = cross_kernel(theta, coords, points[len(seen):])
            self._kernels[(which, output)] = (tag, points, k)
        np.take(k[:, :n], rows, axis=0, out=out)

    def _refit_size(self, n: int) -> int:
        return refit_size(n, 1 + self.settings.n_constraints, self.settings.dimension)

    def _pof(self, ok, picks) -> np.ndarray:
        """P(feasible) at the picks: of their results on an enumerated grid, of the latent
        functions elsewhere (``GRID_POF_OF_RESULTS``)."""
        p = np.ones(_size(picks))
        for j in range(1, 1 + self.settings.n_constraints):
            mean, sd = self._predict(ok, j, picks, observed=self._pof_of_results)
            p *= ndtr(-mean / np.maximum(sd, 1e-12))
        return p

    # --- proposals ------------------------------------------------------------------------

    def propose(self, log: Sequence[Evaluation], k: int, taken: Container[Key],
                known: Callable[[Key], float | None] | None,
                network: Callable[[Key], Hashable] | None, n_model: int = 0,
                running: Sequence[Key] = ()) -> list[Key]:
        """Up to ``k`` points to train next (module docstring); [] when none qualifies.
        ``n_model``: the step's points handed out so far (the first come from the design);
        ``running``: points being evaluated now (proposals keep off their grid neighbours)."""
        if k < 1:
            return []
        self._group(network)
        ok = [e for e in log if e.status == "ok"]
        net = network or (lambda key: key)
        taken_nets = {net(e.x) for e in log if e.trained}
        feasible = [e for e in ok if all(c <= 0 for c in e.outputs[1:])]
        best = min(feasible, key=lambda e: e.outputs[0]) if feasible else None
        if len(ok) < MIN_POINTS or n_model < self.design_points:
            def useless(key):
                if key in taken:
                    return True
                if best is None or known is None:
                    return False
                value = known(key)
                return value is None or value >= best.outputs[0]
            design = self._design(k, useless, net, taken_nets)
            if len(ok) < MIN_POINTS and len(design) < k:  # the design is used up: more
                nets = taken_nets | {net(key) for key in design}

                def wanted(key: Key) -> bool:
                    if useless(key) or net(key) in nets:
                        return False
                    nets.add(net(key))
                    return True

                design += space_filling(self.settings, k - len(design),
                                        self.settings.seed * 1000 + 29 + n_model, wanted)
            if design or len(ok) < MIN_POINTS:
                return design
        centres = [best.x] if best else []
        centres += [e.x for e in sorted(ok, key=_violation)[:2] if e is not best]
        blocks = self._blocks(centres, incumbent=best is not None)
        names = {which for which, _, _ in blocks}
        self._kernels = {key: v for key, v in self._kernels.items() if key[0] in names}
        self._members = {key: v for key, v in self._members.items() if key in names}
        picks = self._untried(blocks, taken, taken_nets, network)
        f_known = None
        if known is not None:
            values = [[known(keys[row]) for row in rows.tolist()]
                      for (_, keys, _), rows in picks]
            keep = [np.array([v is not None and (best is None or v < best.outputs[0])
                              for v in vs], dtype=bool) for vs in values]
            f_known = np.array([v for vs, kept in zip(values, keep)
                                for v, kk in zip(vs, kept) if kk], dtype=float)
            picks = [(block, rows[kept]) for (block, rows), kept in zip(picks, keep)]
        points = [keys[row] for (_, keys, _), rows in picks for row in rows.tolist()]
        if not points:
            return []
        with _blas_controller().limit(limits=1):
            return self._spread(points, self._order(ok, best, picks, f_known), k, running)

    def _untried(self, blocks, taken: Container[Key], trained: set[Hashable],
                 network: Callable[[Key], Hashable] | None) -> list[tuple[tuple, np.ndarray]]:
        """Per block, the rows of its candidates: one per network that is not ``trained``, at
        its first point in block order that is not ``taken``."""
        if network is None and isinstance(taken, Set):  # by set operations, not point by point
            gone, picks = set(taken) | trained, []
            for block in blocks:
                index, members = self._lookup(block)
                skip = [index[key] for key in members & gone]
                picks.append((block, np.setdiff1d(np.arange(len(index)), skip)))
                gone |= members
            return picks
        seen, picks = set(trained), []
        for block in blocks:
            rows = []
            for row, key in enumerate(block[1]):
                n = key if network is None else network(key)
                if n not in seen and key not in taken:
                    seen.add(n)
                    rows.append(row)
            picks.append((block, np.array(rows, dtype=np.intp)))
        return picks

    def _lookup(self, block) -> tuple[dict[Key, int], frozenset]:
        """A block's row of each point, and its points as a set (kept with the block)."""
        which, keys, _ = block
        if which not in self._members:
            self._members[which] = ({key: row for row, key in enumerate(keys)},
                                    frozenset(keys))
        return self._members[which]

    def _order(self, ok, best, picks, f_known) -> Iterable[int]:
        """The candidates' rows, best ``_score`` first (ties: the cheaper, then the earlier).
        For expected improvement times P(feasible) the constraints are predicted only as far as
        the order is read (:class:`_Ranking`)."""
        if f_known is not None or best is None or self.settings.n_constraints == 0:
            score = self._score(ok, best, picks, f_known)
            cheap = f_known if f_known is not None else np.zeros(len(score))
            return np.lexsort((cheap, -score))
        ei = self._expected_improvement(ok, best, picks)
        return _Ranking(ei, lambda rows: self._pof(ok, _subset(picks, rows)))

    def _score(self, ok, best, picks, f_known) -> np.ndarray:
        pof = self._pof(ok, picks)
        if f_known is not None:
            if self.settings.n_constraints == 0:
                return pof
            order = np.argsort(f_known, kind="stable")
            survive = np.concatenate([[1.0], np.cumprod(1.0 - pof[order])[:-1]])
            p_cheapest = np.empty_like(pof)
            p_cheapest[order] = pof[order] * survive
            return p_cheapest
        if best is None:
            return pof
        return self._expected_improvement(ok, best, picks) * pof

    def _expected_improvement(self, ok, best, picks) -> np.ndarray:
        mean, sd = self._predict(ok, 0, picks)
        sd = np.maximum(sd, 1e-12)
        z = (best.outputs[0] - mean) / sd
        return (best.outputs[0] - mean) * ndtr(z) + sd * norm.pdf(z)

    def _spread(self, points: list[Key], order: Iterable[int], k: int,
                running: Sequence[Key]) -> list[Key]:
        """The first ``k`` of the ``points`` in ``order`` that are no grid neighbours of a
        running point or of one chosen before (a batch spreads out; asked one by one, the same
        points come); when fewer qualify, the best of the others fill the rest (no worker waits
        for a spread)."""
        radius = np.where(self._steps > 0, self._steps / self._span, BOX_SPREAD) * 1.001
        near = list(self._coords(running)) if running else []
        chosen: list[Key] = []
        for i in order:
            u = self._coords([points[i]])[0]
            if any(np.all(np.abs(u - c) <= radius) for c in near):
                continue
            chosen.append(points[i])
            near.append(u)
            if len(chosen) == k:
                return chosen
        others = (points[i] for i in order if points[i] not in chosen)
        return chosen + list(itertools.islice(others, k - len(chosen)))

    def _design(self, k, useless, net, taken_nets) -> list[Key]:
        """The next points of the search's Latin hypercube that are still untried and not
        ``useless``."""
        if self._design_points is None:
            n = max(self.design_points, self.settings.block_size)
            self._design_points = space_filling(self.settings, n, self.settings.seed * 1000 + 17,
                                                lambda key: True)
        out, nets = [], set(taken_nets)
        for key in self._design_points:
            if not useless(key) and net(key) not in nets:
                out.append(key)
                nets.add(net(key))
            if len(out) == k:
                break
        return out


class _Ranking:
    """Candidate rows by ``ei * pof(rows)``, best first (ties: the earlier row), made as far
    as they are read; iterable again from the start. A score is at most its ``ei``, so once the
    rows of the highest ``ei`` are scored, every row that scores above the next ``ei`` comes
    next, in order, whatever the other rows' probabilities: the rest are scored only when the
    reader goes that far (``FIRST_RANKED`` rows, then as many again each time), and a row of
    zero ``ei`` scores zero without one. The order is ``np.lexsort((rows, -ei * pof(all)))``."""

    def __init__(self, ei: np.ndarray, pof: Callable[[np.ndarray], np.ndarray]):
        self._ei, self._pof = ei, pof
        self._by_ei = np.argsort(-ei, kind="stable")
        self._score = np.zeros(len(ei))
        self._scored = 0  # rows of _by_ei scored so far
        self._waiting = np.zeros(0, dtype=np.intp)  # scored, not yet placed in the order
        self._made: list[int] = []

    def __iter__(self) -> Iterator[int]:
        i = 0
        while i < len(self._made) or self._grow():
            if i < len(self._made):
                yield self._made[i]
                i += 1

    def _grow(self) -> bool:
        """Score the next rows and place the rows now known to come next (perhaps none);
        False when every row is placed."""
        if self._scored == len(self._ei):
            return False
        size = max(FIRST_RANKED, self._scored)
        rows = self._by_ei[self._scored:self._scored + size]
        self._scored += len(rows)
        live = np.sort(rows[self._ei[rows] != 0])  # in the order ``pof`` answers
        if len(live):
            self._score[live] = self._ei[live] * self._pof(live)
        waiting = np.concatenate([self._waiting, rows])
        # what an unscored row can score: its ei at most, or 0 (ei rounded below 0)
        bound = (max(self._ei[self._by_ei[self._scored]], 0.0)
                 if self._scored < len(self._ei) else -np.inf)
        ready = self._score[waiting] > bound
        placed = waiting[ready]
        self._made += placed[np.lexsort((placed, -self._score[placed]))].tolist()
        self._waiting = waiting[~ready]
        return True


def _size(picks) -> int:
    """How many candidates the picks (block, its rows) hold."""
    return sum(len(rows) for _, rows in picks)


def _subset(picks, rows: np.ndarray) -> list[tuple[tuple, np.ndarray]]:
    """The picks (block, its rows) of the candidates at positions ``rows`` of the picks'
    order, the positions sorted."""
    rows = np.sort(rows)
    out, start = [], 0
    for block, block_rows in picks:
        mine = rows[(rows >= start) & (rows < start + len(block_rows))] - start
        out.append((block, block_rows[mine]))
        start += len(block_rows)
    return out


def refit_size(n: int, outputs: int, dimension: int) -> int:
    """On how many of the first ok points the hyperparameters are fitted when ``n`` are ok,
    for ``outputs`` models in ``dimension`` coordinates (``REFIT_SIZE``)."""
    r = max(MIN_POINTS, 2 * dimension + 1, math.isqrt(REFIT_SIZE // (outputs * dimension)))
    if n <= r:
        return n
    while (grown := math.ceil(r * REFIT_GROWTH)) <= n:
        r = grown
    return r


def _around(u0: np.ndarray, rng: np.random.Generator, scales: Sequence[float],
            n: int) -> np.ndarray:
    """``n`` normal draws around unit-cube point ``u0`` per scale, clipped to the cube."""
    return np.concatenate([np.clip(u0 + scale * rng.standard_normal((n, len(u0))), 0.0, 1.0)
                           for scale in scales])


def _rounded(key) -> Key:
    return tuple(round(float(v), 9) for v in key)


def _violation(e: Evaluation) -> float:
    return sum(max(c, 0.0) ** 2 for c in e.outputs[1:])
