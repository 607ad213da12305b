"""A small Gaussian process for the model search step, with an additive kernel.

The kernel on points of the unit cube is ``sum_d s_d^2 exp(-(u_d - u'_d)^2 / (2 l_d^2))`` (one
smooth effect per coordinate) plus a noise term. Targets are standardised; the hyperparameters
maximise the marginal likelihood, with a weak prior pulling the length scales towards a share
of the box (``prior_length``, 0.3 unless given), by L-BFGS-B from a fixed start with analytic
gradients: a fit is a deterministic function of its data. The noise's standard deviation is at
least ``noise_floor`` (in standardised units, ``NOISE_FLOOR`` unless given): a low floor lets the
model all but interpolate a deterministic function, a higher one holds it to a smoother fit.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import lapack, solve_triangular
from scipy.optimize import minimize

__all__ = ["AdditiveGP", "cross_kernel", "squared_differences"]

#: where the length scales' prior is centred, as a share of the box (``AdditiveGP``'s default).
PRIOR_LENGTH = 0.3
#: the smallest noise standard deviation a fit may choose, standardised (``AdditiveGP``'s default).
NOISE_FLOOR = 0.02
_JITTER = 1e-8
#: numbers per block of a prediction's kernel, and fewer points than this are made the other
#: way round (``cross_kernel``).
_BLOCK = 32768
_FEW_POINTS = 16


class AdditiveGP:
    """GP regression on points of the unit cube: ``fit(u, y)``, then ``predict(v) -> (mean, sd)``
    of the latent function (or of an observation). ``theta``: log scales (d), log length scales
    (d), log noise. ``prior_length``: the centre of the length scales' prior, as a share of the
    box; ``noise_floor``: the smallest noise standard deviation (module docstring)."""

    def __init__(self, prior_length: float = PRIOR_LENGTH,
                 noise_floor: float = NOISE_FLOOR) -> None:
        self.theta: np.ndarray | None = None
        self._prior = math.log(prior_length)
        self._noise_floor = math.log(noise_floor)

    def _start(self, d: int) -> tuple[np.ndarray, list[tuple[float, float]]]:
        theta = np.array([math.log(0.6)] * d + [self._prior] * d + [math.log(0.5)])
        bounds = ([(-4.0, 2.0)] * d + [(math.log(0.05), math.log(3.0))] * d
                  + [(self._noise_floor, math.log(2.0))])
        return theta, bounds

    @staticmethod
    def _kernel(theta: np.ndarray, sq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-coordinate exponentials, their scales and their sum, for squared differences
        ``sq`` (d x n x m)."""
        d, n, m = sq.shape
        e = np.exp(-0.5 * sq / np.exp(2 * theta[d:2 * d])[:, None, None])
        s2 = np.exp(2 * theta[:d])
        return e, s2, np.dot(s2[None], e.reshape(d, n * m)).reshape(n, m)

    def _nll(self, theta: np.ndarray, sq: np.ndarray, z: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log marginal likelihood (plus the prior) and its gradient."""
        d, n = sq.shape[0], sq.shape[1]
        e, s2, k = self._kernel(theta, sq)
        noise2 = math.exp(2 * theta[-1])
        factor = _cholesky(k, noise2)
        if factor is None:
            return 1e10, np.zeros_like(theta)
        alpha, _ = lapack.dpotrs(factor, z, lower=1)
        w, _ = lapack.dpotrs(factor, np.eye(n), lower=1, overwrite_b=1)
        w -= np.outer(alpha, alpha)  # 2 * d nll / d K
        log_l = theta[d:2 * d]
        value = (0.5 * z @ alpha + np.log(np.diag(factor)).sum()
                 + 0.5 * np.sum((log_l - self._prior) ** 2))
        grad = np.empty_like(theta)
        e_w = e.reshape(d, -1) @ w.ravel()  # per coordinate: sum of w * e_j
        e_sq_w = (e * sq).reshape(d, -1) @ w.ravel()
        grad[:d] = e_w * s2
        grad[d:2 * d] = 0.5 * s2 * e_sq_w / np.exp(2 * log_l) + log_l - self._prior
        grad[-1] = np.trace(w) * noise2
        return value, grad

    def fit(self, u: np.ndarray, y: np.ndarray, theta: np.ndarray | None = None,
            sq: np.ndarray | None = None) -> AdditiveGP:
        """Fit on points ``u`` (n x d) with targets ``y`` (n): the hyperparameters maximise
        the marginal likelihood, or are ``theta`` (another fit's) when given. ``sq``: the
        points' squared differences per coordinate (d x n x n), if already made."""
        u = np.asarray(u, dtype=float)
        y = np.asarray(y, dtype=float)
        self._u = u
        self._mean = float(y.mean())
        self._scale = float(y.std()) or 1.0
        z = (y - self._mean) / self._scale
        if sq is None:
            sq = squared_differences(u)
        if theta is None:
            theta0, bounds = self._start(u.shape[1])
            theta = minimize(self._nll, theta0, args=(sq, z), jac=True, method="L-BFGS-B",
                             bounds=bounds, options={"maxiter": 200}).x
        self.theta = theta
        _, _, k = self._kernel(self.theta, sq)
        self._factor = _cholesky(k, math.exp(2 * self.theta[-1]))
        if self._factor is None:
            raise np.linalg.LinAlgError("the kernel matrix is not positive definite")
        self._alpha, _ = lapack.dpotrs(self._factor, z, lower=1)
        self._inverse = None
        return self

    @property
    def points(self) -> np.ndarray:
        """The fitted points (n x d)."""
        return self._u

    def predict(self, v: np.ndarray, observed: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the latent function at points ``v`` (m x d), or of
        an observation there if ``observed`` (the noise's variance added)."""
        return self.predict_from(self.cross_kernel(v), observed)

    def predict_from(self, k: np.ndarray, observed: bool = False
                     ) -> tuple[np.ndarray, np.ndarray]:
        """``predict`` at the points whose ``cross_kernel`` is ``k`` (m x n)."""
        s2 = np.exp(2 * self.theta[:self._u.shape[1]])
        if self._inverse is None:  # L^-1: a product with it is faster than a triangular solve
            self._inverse = solve_triangular(self._factor, np.eye(len(self._u)), lower=True,
                                             check_finite=False)
        half = k @ self._inverse.T  # k L^-T, so var = s2 - |row|^2
        var = np.maximum(s2.sum() - np.einsum("ij,ij->i", half, half), 1e-12)
        if observed:
            var += math.exp(2 * self.theta[-1])
        return self._mean + self._scale * (k @ self._alpha), self._scale * np.sqrt(var)

    def cross_kernel(self, v: np.ndarray) -> np.ndarray:
        """The kernel between points ``v`` (m x d) and the fitted points, m x n
        (:func:`cross_kernel`)."""
        return cross_kernel(self.theta, v, self._u)


def _cholesky(k: np.ndarray, noise2: float) -> np.ndarray | None:
    """The lower Cholesky factor of the kernel matrix ``k`` plus the noise variance ``noise2``
    (and a jitter) on its diagonal, or None if that is not positive definite. ``k`` is
    overwritten. LAPACK is called directly: the likelihood calls this often on tiny matrices,
    where the checks of ``scipy.linalg``'s wrappers cost more than the arithmetic."""
    k.flat[::len(k) + 1] += noise2 + _JITTER
    factor, info = lapack.dpotrf(k, lower=1, clean=0, overwrite_a=1)
    return None if info else factor


def squared_differences(u: np.ndarray) -> np.ndarray:
    """Squared differences of points ``u`` (n x d) per coordinate, d x n x n, in C order (a
    fit's rounding depends on the layout, so every fit on the same points gets the same one)."""
    ut = np.ascontiguousarray(np.asarray(u, dtype=float).T)
    return (ut[:, :, None] - ut[:, None, :]) ** 2


def cross_kernel(theta: np.ndarray, v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The kernel with hyperparameters ``theta`` between points ``v`` (m x d) and ``u``
    (n x d), m x n. Each entry is the same sequence of operations whatever the shapes (the
    coordinates summed in order, no matrix product), so columns made one point at a time equal
    columns made together, bit for bit: a model search may keep the columns of its candidates
    between decisions. Made in blocks of rows that stay in the processor's cache; for a few
    points ``u``, made as the kernel between ``u`` and ``v`` and transposed (the same numbers:
    the square of a difference does not depend on its sign), so numpy's loops run along ``v``."""
    u = np.asarray(u, dtype=float)
    if len(u) < _FEW_POINTS < len(v):
        return np.ascontiguousarray(cross_kernel(theta, u, v).T)
    d, n = u.shape[1], len(u)
    factor = -0.5 / np.exp(2 * theta[d:2 * d])
    s2 = np.exp(2 * theta[:d])
    vt = np.ascontiguousarray(np.asarray(v, dtype=float).T)
    ut = np.ascontiguousarray(u.T)
    k = np.zeros((vt.shape[1], n))
    rows = max(1, _BLOCK // max(n, 1))
    buffer = np.empty((min(rows, vt.shape[1]), n))
    for start in range(0, vt.shape[1], rows):
        out = k[start:start + rows]
        e = buffer[:len(out)]
        for j in range(d):
            np.subtract(vt[j, start:start + rows, None], ut[j], out=e)
            np.square(e, out=e)
            e *= factor[j]
            np.exp(e, out=e)
            e *= s2[j]
            out += e
    return k
