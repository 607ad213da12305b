"""NOMAD's MADS as a Ray Tune ``Searcher``: constrained, derivative-free, restorable.

The algorithm runs in :class:`hsearch.search.nomad.MadsAskTell`: a NOMAD child process
driven by ask/tell, using NOMAD's *block evaluation* with ``BB_MAX_BLOCK_SIZE =
max_concurrent``. Block evaluation was chosen over NOMAD's evaluation threads and over
its suggest/observe API on measurements (details in ``docs/search-nomad.md``):
it is the only one of the three that is exactly ``PyNomad.optimize`` *and* reproducible
whatever order Tune's trials finish in (which exact restore by replay needs); NOMAD's
threads left workers just as idle (MADS proposes ~1.3-1.5 points per step by default,
and both wait for a step's points); suggest/observe is a reduced MADS that stalled on
infeasible starts. This module only adapts the core to Tune: configs through
:class:`hsearch.search.space.SpaceCodec`, constraints through
:mod:`hsearch.search.constraints`, trial ids to points, failures to failed evaluations.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
import math
import pickle
import random
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from ray.tune.search import Searcher

from hsearch.search.constraints import Constraint, parse_constraints
from hsearch.search.evaluation_records import EvaluationRecord, numeric_metrics
from hsearch.search.nomad import MadsAskTell, MadsSettings
from hsearch.search.space import SpaceCodec

logger = logging.getLogger(__name__)

__all__ = ["NomadSearcher", "EvaluationRecord"]

_MAX_REQUEUES = 3  # a point whose trial is removed before running is re-offered this often
#: the ``status`` of a trial's cost report, sent before it trains (hsearch.workflows.trial): a
#: trial whose last result it is trained nothing (a pruner stopped it there).
COST_REPORT_STATUS = "cost"
# NOMAD needs milliseconds to compute its next block; a None while it computes would leave a
# worker idle until the next trial ends (and with nothing running, Tune sleeps a whole second
# after a None: TuneController._update_trial_queue). So suggest waits up to this long for a
# computing NOMAD; it never waits for running trials.
_WAIT_S = 1.0


@dataclass
class _Options:
    max_evals: int
    max_concurrent: int
    seed: int
    constraint_type: str
    nomad_params: tuple[str, ...]
    max_restarts: int
    model_search: bool = True
    points_to_evaluate: list[dict] = field(default_factory=list)


class NomadSearcher(Searcher):
    """Ray Tune searcher running NOMAD's MADS (``PyNomad``), with constraints.

    Example::

        searcher = NomadSearcher(metric="macs", mode="min", constraints=["acc >= 0.93"],
                                 max_evals=100, max_concurrent=4, seed=0)
        tuner = tune.Tuner(trainable, param_space={"width": tune.uniform(0.25, 2.0)},
                           tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1,
                                                       max_concurrent_trials=4))

    The search space is Tune's ``param_space`` (or ``space=`` here, not both); see
    :class:`SpaceCodec` for the supported domains and how they map to NOMAD (integers and
    choices become NOMAD integers, loguniform is searched in log10 space, quniform uses
    NOMAD's granularity). Nothing outside the declared domain is ever suggested.

    Contract in Tune (the reasoning and the figures: docs/search-nomad.md, "The Tune adapter"):

    * ``suggest`` never blocks on running trials: ``None`` when the current block is handed
      out (it waits up to 1 s for a NOMAD that is computing its next block), and
      ``Searcher.FINISHED`` once the search is over (pair with ``num_samples=-1``).
    * At most ``max_concurrent`` trials at once (NOMAD's block size); under Tune's
      ``ConcurrencyLimiter`` (``TuneConfig(max_concurrent_trials=n)``) the block size is n.
    * A trial that errors, reports NaN/inf or lacks a metric is a failed evaluation (it counts
      against the budget; a warning is logged); one removed before it ran
      (``result=None, error=False``) gives its point back, at most 3 times, then it fails.
    * ``max_evals`` counts *trained* evaluations: at most that many trials are suggested,
      besides those pruned at their cost report (below).
      Points answered without training (``"duplicate"``: same ``network_key`` as a trained
      config; ``"screened"``: ``known_objective`` not below the best feasible) are in
      :attr:`free_evaluations`, and in order with the others in :attr:`all_evaluations`. A
      trial that ends at its cost report (``status="cost"``: a pruner stopped it before it
      trained) when its known objective says it cannot improve is ``"pruned"``: free like a
      screened point, and its accuracy, never measured, does not reach NOMAD's models.
    * ``known_objective(config)`` runs in this process, cached per point; an exception or a
      non-finite value means "unknown" for that config (logged once), never a crash.
    * With budget left when MADS stops, the search restarts (``nomad.restarts``);
      :attr:`stop_reason` says why it ended before the budget.
    * Save/restore: the state is the log of evaluations plus the live trials; a restore
      replays the log (the same trajectory), re-runs the trials that were running under their
      ids and does not re-run completed ones. ``resume_unfinished=False`` is not supported.
    * NOMAD runs in a child process; a crash there is recovered by replay up to
      ``max_restarts`` times, then the search finishes. ``nomad_params`` that stop NOMAD from
      starting raise :class:`NomadError` from the first ``suggest``.

    Args:
        space: Tune search space, if not given to the Tuner as ``param_space``.
        metric: reported metric to minimise (``mode="min"``) or maximise (``"max"``).
        mode: ``"min"`` or ``"max"``.
        constraints: reported metrics that must be ``<= 0`` (``"acc_gap"``), or strings
            ``"acc >= 0.93"`` / ``"latency_ms <= 5"``, or :func:`at_least`/:func:`at_most`.
        constraint_type: ``"PB"`` (progressive barrier: infeasible points guide the
            search, default) or ``"EB"`` (extreme barrier: infeasible = rejected).
        points_to_evaluate: starting configs (NOMAD ``X0``; several allowed, evaluated
            first). Default: the centre of the encoded box (see ``SpaceCodec.center``).
        max_evals: budget of trained evaluations (trials started).
        max_concurrent: most trials at once (NOMAD ``BB_MAX_BLOCK_SIZE``).
        seed: the search's seed (mapped one-to-one to NOMAD ``SEED``s, one per NOMAD run);
            ``None`` draws one (logged and saved with the state).
        nomad_params: extra NOMAD parameter lines for experts, e.g.
            ``["QUAD_MODEL_SEARCH yes"]``; a line replaces hsearch's default line with the
            same keyword (``nomad.settings.default_lines``); lines the searcher owns are rejected.
        model_search: the model search step beside NOMAD's poll (``nomad.model_search``: a
            Gaussian process of each constraint, and of the objective when it is not known,
            proposes points; with ``max_concurrent > 1`` it fills the workers NOMAD's block
            leaves free). False: NOMAD's MADS alone (the searcher ``nomad-plain``).
        max_restarts: how often a crashed NOMAD child is replaced before finishing.
        known_objective: ``config -> metric value`` known without training (NAS: MACs);
            NOMAD sorts its candidates by it and screens (``nomad.answers``).
        network_key: ``config -> hashable``; configs with equal keys are one evaluation.
        on_free: called as ``on_free(index, record)`` for each point answered without
            training (``index``: its place among NOMAD's answers, stable across a resume; a
            point may be handed again after a resume). Exceptions are logged, not raised.
    """

    def __init__(
        self,
        space: Mapping[str, Any] | None = None,
        metric: str | None = None,
        mode: str | None = None,
        *,
        constraints: Sequence[str | Constraint] | str | Constraint | None = None,
        constraint_type: str = "PB",
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        max_evals: int = 100,
        max_concurrent: int = 1,
        seed: int | None = 0,
        nomad_params: Sequence[str] = (),
        model_search: bool = True,
        max_restarts: int = 3,
        known_objective: Callable[[dict], float] | None = None,
        network_key: Callable[[dict], Hashable] | None = None,
        on_free: Callable[[int, EvaluationRecord], None] | None = None,
    ):
        if importlib.util.find_spec("PyNomad") is None:
            raise ImportError(
                "NomadSearcher needs NOMAD's Python interface: pip install PyNomadBBO"
            )
        if mode is not None and mode not in ("min", "max"):
            raise ValueError(f"`mode` must be 'min' or 'max', but got mode={mode!r}")
        if metric is not None and not isinstance(metric, str):
            raise ValueError(f"`metric` must be one metric name (a str), but got {metric!r}")
        super().__init__(metric=metric, mode=mode)
        if seed is None:
            seed = random.SystemRandom().randrange(2**31 - 1)
            logger.info("NomadSearcher drew seed=%d", seed)
        self._constraints = parse_constraints(constraints)
        names = [c.metric for c in self._constraints]
        if metric is not None and metric in names:
            raise ValueError(f"the metric {metric!r} is also a constraint: {names}")
        self._options = _Options(
            max_evals=max_evals, max_concurrent=max_concurrent, seed=seed,
            constraint_type=constraint_type, nomad_params=tuple(nomad_params),
            max_restarts=max_restarts, model_search=bool(model_search),
            points_to_evaluate=[copy.deepcopy(dict(p)) for p in (points_to_evaluate or [])],
        )
        # validate the NOMAD-facing options now, with a dummy box, so errors show early
        MadsSettings(lower=(0.0,), upper=(1.0,), x0=((0.0,),), n_constraints=len(names),
                     constraint_type=constraint_type, max_evals=max_evals,
                     block_size=max_concurrent, seed=seed, nomad_params=tuple(nomad_params))
        self._space = copy.deepcopy(dict(space)) if space is not None else None
        self._codec: SpaceCodec | None = None
        self._core: MadsAskTell | None = None
        self._live: dict[str, tuple[float, ...]] = {}
        self._requeued: dict[tuple[float, ...], int] = {}
        self._records: list[EvaluationRecord] = []
        self._known_objective = known_objective
        self._network_key = network_key
        self._on_free = on_free
        self._free_emitted = 0
        if self._space is not None:
            self._setup_space(self._space)

    # --- Tune Searcher API ----------------------------------------------------------------

    def set_search_properties(self, metric: str | None, mode: str | None,
                              config: dict, **spec) -> bool:
        """Called by Tune with ``TuneConfig.metric/mode`` and ``param_space``."""
        if self._codec is not None and config and _has_domains(config):
            return False  # a space was given to the searcher already (Ray's convention)
        if metric and not self._metric:
            self._metric = metric
        if mode and not self._mode:
            if mode not in ("min", "max"):
                raise ValueError(f"`mode` must be 'min' or 'max', but got mode={mode!r}")
            self._mode = mode
        if self._codec is None and config:
            self._setup_space(config)
        return True

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """Adopt a ``ConcurrencyLimiter``'s limit as NOMAD's block size (before the start)."""
        if self._core is None:
            self._options.max_concurrent = int(max_concurrent)
        elif int(max_concurrent) != self._options.max_concurrent:
            logger.warning(
                "NomadSearcher already runs with max_concurrent=%d; ignoring %d",
                self._options.max_concurrent, max_concurrent)
        return True

    def suggest(self, trial_id: str) -> dict | str | None:
        """A config for ``trial_id``, ``None`` (nothing now) or ``Searcher.FINISHED``."""
        if self._codec is None or not self._metric or not self._mode:
            raise RuntimeError(
                "NomadSearcher.suggest called before the search space, metric and mode were "
                "set: pass them to NomadSearcher(...) or through tune.TuneConfig(metric=..., "
                "mode=...) and Tuner(param_space=...)"
            )
        core = self._ensure_core()
        if core.nomad_finished:
            return Searcher.FINISHED
        points = core.ask(max_points=1, timeout=_WAIT_S)
        self._emit_free()
        if not points:
            return Searcher.FINISHED if core.nomad_finished else None
        key = tuple(float(v) for v in points[0])
        self._live[trial_id] = key
        return self._codec.decode(points[0])

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        """Intermediate results are not used (MADS needs one value per point)."""

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        """Tell NOMAD the trial's outputs (or a failed evaluation) and keep the record."""
        key = self._live.pop(trial_id, None)
        if key is None:
            key = self._adopt(trial_id, result)
            if key is None:
                return
        core = self._core
        if result is None and not error:
            # removed while pending: the point never ran; NOMAD still needs an answer
            n = self._requeued.get(key, 0) + 1
            self._requeued[key] = n
            if n <= _MAX_REQUEUES:
                logger.info("trial %s was removed before it ran; its point is offered again",
                            trial_id)
                core.requeue([key])
                return
            reason = f"removed before running {n} times"
        else:
            reason = ""
            if (not error and result is not None
                    and result.get("status") == COST_REPORT_STATUS and core.tell_pruned(key)):
                # stopped before training, its cost no better than the best feasible one: NOMAD
                # is told what a screened point tells it; its accuracy was never measured, so
                # the models never see it
                logger.info("trial %s was stopped at its cost report: pruned", trial_id)
                _, record = self._evaluate(trial_id, key, result, error, "")
                self._records.append(replace(
                    record, status="pruned", feasible=False,
                    reason="stopped at its cost report: known objective not better than the "
                           "best feasible"))
                self._emit_free()
                return
        outputs, record = self._evaluate(trial_id, key, result, error, reason)
        if record.status == "failed":
            logger.warning("Trial %s is a failed evaluation for NOMAD: %s", trial_id,
                           record.reason)
        self._records.append(record)
        core.tell([key], [outputs])
        self._emit_free()

    # --- state ------------------------------------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        """The searcher's state: options, the MADS core state, live trials and records."""
        return {
            "version": 1,
            "metric": self._metric,
            "mode": self._mode,
            "constraints": [(c.metric, c.op, c.bound) for c in self._constraints],
            "options": asdict(self._options),
            # Tune domains pickle; Tuner.restore does not hand the param_space back
            "space": None if self._codec is None else self._codec.space,
            "core": None if self._core is None else self._core.state_dict(),
            "live": {tid: list(x) for tid, x in self._live.items()},
            "requeued": [[list(x), n] for x, n in self._requeued.items()],
            "records": [r.to_dict() for r in self._records],
            "free_emitted": self._free_emitted,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state`; NOMAD resumes by replay at the next ``suggest``."""
        if state.get("version") != 1:
            raise ValueError(f"unknown NomadSearcher state version {state.get('version')!r}")
        self._close_core()
        self._metric = state["metric"] or self._metric
        self._mode = state["mode"] or self._mode
        self._constraints = tuple(Constraint(*c) for c in state["constraints"])
        options = dict(state["options"])
        options["nomad_params"] = tuple(options["nomad_params"])
        self._options = _Options(**options)
        if state.get("space") is not None:
            self._setup_space(state["space"])
        self._core = None if state["core"] is None else MadsAskTell.from_state(
            state["core"], **self._core_functions())
        self._live = {tid: tuple(x) for tid, x in state["live"].items()}
        self._requeued = {tuple(x): n for x, n in state["requeued"]}
        self._records = [EvaluationRecord(**{**r, "x": tuple(r["x"])}) for r in state["records"]]
        self._free_emitted = int(state.get("free_emitted", 0))

    def save(self, checkpoint_path: str) -> None:
        """Pickle :meth:`get_state` to ``checkpoint_path`` (Tune calls this every snapshot)."""
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.get_state(), f)

    def restore(self, checkpoint_path: str) -> None:
        """Load a state written by :meth:`save`."""
        with open(checkpoint_path, "rb") as f:
            self.set_state(pickle.load(f))

    def __getstate__(self) -> dict[str, Any]:
        # Tuner() pickles the searcher at construction; the core (if any) pickles as its
        # JSON-able state, without the NOMAD process or its pipe.
        return self.__dict__.copy()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self._core is not None:  # the core pickles without its functions
            functions = self._core_functions()
            self._core.known, self._core.network_key = functions["known"], functions["network_key"]

    def close(self) -> None:
        """End the NOMAD child process now (it also ends with the searcher or the driver)."""
        self._close_core()

    # --- results ------------------------------------------------------------------------------

    @property
    def evaluations(self) -> list[EvaluationRecord]:
        """Every finished trial in order: trial id, config, encoded x, objective, constraint
        values, all numeric metrics, status (``"ok"``, ``"failed"``, ``"pruned"``) and
        feasibility."""
        return list(self._records)

    @property
    def free_evaluations(self) -> list[EvaluationRecord]:
        """Points answered without training, in order: ``"duplicate"`` (same network as a
        trained config; its result) and ``"screened"`` (known objective not below the best
        feasible; ``objective`` is the known value, constraints None). ``trial_id`` is ""."""
        return [r for r in self.all_evaluations if r.status in ("duplicate", "screened")]

    @property
    def all_evaluations(self) -> list[EvaluationRecord]:
        """Trained and free evaluations in the order NOMAD got their answers."""
        if self._core is None:
            return list(self._records)
        trained = {r.x: r for r in self._records}
        out = []
        for e in self._core.history:
            if e.trained or e.status == "pruned":
                if e.x in trained:
                    out.append(trained[e.x])
            elif (record := self._free_record(e, trained)) is not None:
                out.append(record)
        return out

    def _free_record(self, e, trained: dict) -> EvaluationRecord | None:
        """The record of a screened or duplicate core evaluation (None for other statuses)."""
        config = self._codec.decode(np.array(e.x))
        if e.status == "duplicate":
            base = trained.get(self._core.first_of_network(e.x))
            if base is None:
                return None
            return EvaluationRecord("", config, e.x, base.objective, dict(base.constraints),
                                    dict(base.metrics), "duplicate", base.feasible,
                                    f"same network as trial {base.trial_id}")
        if e.status == "screened":
            sign = -1.0 if self._mode == "max" else 1.0
            return EvaluationRecord("", config, e.x, sign * e.outputs[0],
                                    {str(c): None for c in self._constraints}, {}, "screened",
                                    False, "known objective not better than the best feasible")
        return None

    def _emit_free(self) -> None:
        """Hand new free evaluations to ``on_free`` (never raises into Tune's loop)."""
        if self._on_free is None or self._core is None:
            return
        trained = {r.x: r for r in self._records}
        n = 0
        for index, e in enumerate(self._core.history):
            if e.status not in ("screened", "duplicate"):
                continue
            n += 1
            if n <= self._free_emitted:
                continue
            record = self._free_record(e, trained)
            if record is None:
                break  # its trained original is not recorded yet: next time
            self._free_emitted = n
            try:
                self._on_free(index, record)
            except Exception as exc:
                logger.warning("on_free failed for %s: %s", record.config, exc)

    @property
    def n_trained(self) -> int:
        """Trained evaluations so far (what ``max_evals`` counts)."""
        return sum(r.status != "pruned" for r in self._records)

    @property
    def stop_reason(self) -> str:
        """Why the search finished ("" while it runs)."""
        return "" if self._core is None else self._core.stop_reason

    @property
    def best(self) -> EvaluationRecord | None:
        """The best feasible evaluation (by the metric and mode), or None."""
        feasible = [r for r in self._records if r.feasible]
        if not feasible:
            return None
        sign = -1.0 if self._mode == "max" else 1.0
        return min(feasible, key=lambda r: sign * r.objective)

    @property
    def codec(self) -> SpaceCodec | None:
        """The config <-> vector mapping (None until the space is known)."""
        return self._codec

    @property
    def core(self) -> MadsAskTell | None:
        """The ask/tell MADS core (None before the first ``suggest``)."""
        return self._core

    @property
    def constraints(self) -> tuple[Constraint, ...]:
        return self._constraints

    @property
    def finished(self) -> bool:
        return self._core is not None and self._core.finished

    # --- internals --------------------------------------------------------------------------

    def _setup_space(self, space: Mapping[str, Any]) -> None:
        codec = SpaceCodec(space)
        x0 = []
        for config in self._options.points_to_evaluate:
            x = tuple(float(v) for v in codec.encode(config))
            if x not in x0:
                x0.append(x)
        self._codec = codec
        self._x0 = x0 or [tuple(float(v) for v in codec.center())]

    def _settings(self) -> MadsSettings:
        codec, o = self._codec, self._options
        return MadsSettings.from_codec(
            codec, x0=self._x0, n_constraints=len(self._constraints),
            constraint_type=o.constraint_type, max_evals=o.max_evals,
            block_size=o.max_concurrent, seed=o.seed, nomad_params=o.nomad_params,
            model_search=o.model_search,
        )

    def _ensure_core(self) -> MadsAskTell:
        if self._core is None:
            self._core = MadsAskTell(self._settings(), max_restarts=self._options.max_restarts,
                                     **self._core_functions())
        elif self._core.settings.dimension != self._codec.dimension:
            raise ValueError(
                f"the restored search has {self._core.settings.dimension} variables but the "
                f"search space has {self._codec.dimension}: restore with the same space"
            )
        return self._core

    def _core_functions(self) -> dict[str, Any]:
        """``known``/``network_key`` of encoded points for the core (sign flipped for max)."""
        out: dict[str, Any] = {"known": None, "network_key": None}
        if self._known_objective is not None:
            out["known"] = self._known_x
        if self._network_key is not None:
            out["network_key"] = self._network_x
        return out

    def _known_x(self, x: np.ndarray) -> float:
        sign = -1.0 if self._mode == "max" else 1.0
        return sign * float(self._known_objective(self._codec.decode(x)))

    def _network_x(self, x: np.ndarray) -> Hashable:
        return self._network_key(self._codec.decode(x))

    def _adopt(self, trial_id: str, result: dict | None) -> tuple[float, ...] | None:
        """A trial id we did not hand out (e.g. Tune restarted a restored trial under a new
        id): match its config to a point still awaited from a vanished trial id."""
        if self._core is None or not result or self._codec is None:
            return None
        config = {k[len("config/"):]: v for k, v in result.items() if k.startswith("config/")}
        if not config and isinstance(result.get("config"), Mapping):
            config = result["config"]
        try:
            key = tuple(float(v) for v in self._codec.encode(config))
        except (ValueError, KeyError):
            return None
        if not self._core.is_pending(key):
            return None
        # NOMAD never proposes a point twice, so the id holding it is the trial Tune
        # replaced (e.g. restarted after a restore): it will not report
        for old_id in [tid for tid, x in self._live.items() if x == key]:
            del self._live[old_id]
        logger.info("trial %s evaluated a point handed out to an earlier trial id; using it",
                    trial_id)
        return key

    def _evaluate(self, trial_id, key, result, error, reason):
        config = self._codec.decode(np.array(key))
        metrics = numeric_metrics(result or {})
        objective = None
        raw = (result or {}).get(self._metric)
        if raw is not None and not isinstance(raw, (bool, str, bytes)):
            try:
                objective = float(raw)
            except (TypeError, ValueError):
                objective = None
        cvalues = {str(c): c.value(result or {}) for c in self._constraints}
        if error:
            reason = "the trial raised an error"
        elif reason:
            pass
        elif objective is None:
            reason = f"the result lacks the metric {self._metric!r}"
        elif not math.isfinite(objective):
            reason = f"the metric {self._metric!r} is {objective}"
        else:
            bad = [name for name, v in cvalues.items() if v is None]
            if bad:
                reason = f"constraint metric missing or not finite for {bad}"
        if reason:
            record = EvaluationRecord(trial_id, config, key, objective, cvalues, metrics,
                                      "failed", False, reason)
            return None, record
        sign = -1.0 if self._mode == "max" else 1.0
        outputs = [sign * objective] + [cvalues[str(c)] for c in self._constraints]
        feasible = all(v <= 0.0 for v in outputs[1:])
        record = EvaluationRecord(trial_id, config, key, objective, cvalues, metrics, "ok",
                                  feasible)
        return outputs, record

    def _close_core(self) -> None:
        core = getattr(self, "_core", None)
        if core is not None:
            core.close()


def _has_domains(config: Mapping[str, Any]) -> bool:
    from ray.tune.search.sample import Domain

    for value in config.values():
        if isinstance(value, Domain):
            return True
        if isinstance(value, Mapping) and ("grid_search" in value or _has_domains(value)):
            return True
    return False
