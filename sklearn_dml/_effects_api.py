"""EconML-compatible effect methods, shared by every estimator.

Names, keyword-only ``T0``/``T1`` and output shapes follow EconML's CATE
estimators so comparisons are a loop. Semantics differ where EconML's are
surprising: ``ate`` without ``X`` is the *debiased* training-sample average, and
pointwise intervals are refused with an explanation instead of being faked.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .targets import AverageEffect, AverageMarginalEffect, broadcast_t

POINTWISE_MESSAGE = (
    "Pointwise confidence intervals for θ(x) or effects at a single x are not provided by "
    "structural DML: the influence-function correction gives valid inference for averages "
    "only. Use ate_inference(where=mask) for a subgroup average, or "
    "est.inference(target, where=mask) for any other target."
)


class _EffectsMixin:
    """effect / marginal_effect / const_marginal_effect / ate / ate_interval / ate_inference."""

    def _theta_for(self, X):
        check_is_fitted(self)
        return self.theta_ if X is None else self.predict(X)

    def _treatments_like(self, value, n):
        return broadcast_t(value, np.zeros((n, len(self.treatment_names_))))

    @staticmethod
    def _squeeze(values):
        return values[:, 0] if values.shape[1] == 1 else values

    def effect(self, X=None, *, T0=0, T1=1):
        """Plug-in effect of moving T from T0 to T1 at each x: E[Y|x,T1] − E[Y|x,T0].

        Parameters
        ----------
        X : array-like of shape (m, n_features), default=None
            Where to evaluate; None uses the training rows' cross-fitted θ̂.
        T0, T1 : float or array-like, default=0 and 1
            Baseline and treatment values (scalar, one per treatment, or per row).

        Returns
        -------
        ndarray of shape (m,)
        """
        theta = self._theta_for(X)
        t0 = self._treatments_like(T0, theta.shape[0])
        t1 = self._treatments_like(T1, theta.shape[0])
        return self.family_.mean_numpy(t1, theta) - self.family_.mean_numpy(t0, theta)

    def marginal_effect(self, T, X=None):
        """Plug-in ∂E[Y|x,t]/∂t at the given treatment values.

        Parameters
        ----------
        T : float or array-like
            Treatment values at which to differentiate (scalar, per treatment or per row).
        X : array-like, default=None
            None uses the training rows.

        Returns
        -------
        ndarray of shape (m,) for one treatment, (m, n_treatments) for several.
        """
        theta = self._theta_for(X)
        t = self._treatments_like(T, theta.shape[0])
        out = np.column_stack([AverageMarginalEffect(j).value(self.family_, theta, t)
                               for j in range(t.shape[1])])
        return self._squeeze(out)

    def const_marginal_effect(self, X=None):
        """β(x): the marginal effect of T, for families where E[Y|x,t] is linear in t.

        Returns
        -------
        ndarray of shape (m,) for one treatment, (m, n_treatments) for several.
        """
        theta = self._theta_for(X)
        if not getattr(self.family_, "linear_in_t", False):
            raise NotImplementedError(
                f"E[Y | x, t] is not linear in t for the {self.family_.name!r} family, so the "
                "marginal effect depends on t. Use marginal_effect(T, X).")
        return self._squeeze(theta[:, 1:])

    def ate_inference(self, X=None, *, T0=0, T1=1, where=None):
        """Debiased average effect of moving T from T0 to T1, with inference.

        Parameters
        ----------
        X : None
            Must be None: inference is for the training sample's average. (EconML
            accepts new X here; its intervals then describe a different quantity.)
        T0, T1 : float or array-like, default=0 and 1
        where : bool array of shape (n_samples,), default=None
            Restrict to a subgroup of training rows (a debiased group average).

        Returns
        -------
        InferenceResults
            With ``summary_frame()``, ``conf_int()``, ``pvalue()``.
        """
        if X is not None:
            raise NotImplementedError(
                "ate_inference is the debiased average over the training rows; new X would need "
                "outcomes there. Use ate(X) for a plug-in average at new X, or where= for a "
                "subgroup of the training rows.")
        return self.inference(AverageEffect(T0, T1), where=where)

    def ate(self, X=None, *, T0=0, T1=1, where=None):
        """Average effect of moving T from T0 to T1.

        Without ``X``: the debiased training-sample average (optionally over ``where``).
        With ``X``: the plug-in mean of :meth:`effect` at those rows (no debiasing).

        Returns
        -------
        float
        """
        if X is None:
            return float(self.ate_inference(T0=T0, T1=T1, where=where).estimate[0])
        if where is not None:
            raise ValueError("where selects training rows; do not combine it with X.")
        return float(np.mean(self.effect(X, T0=T0, T1=T1)))

    def ate_interval(self, X=None, *, T0=0, T1=1, where=None, alpha=0.05):
        """Confidence interval of the debiased average effect: ``(lower, upper)``."""
        lo, hi = self.ate_inference(X, T0=T0, T1=T1, where=where).conf_int(alpha)[0]
        return float(lo), float(hi)

    def effect_interval(self, X=None, *, T0=0, T1=1, alpha=0.05):
        """Not provided: see :data:`POINTWISE_MESSAGE`."""
        raise NotImplementedError(POINTWISE_MESSAGE)

    def effect_inference(self, X=None, *, T0=0, T1=1):
        """Not provided: see :data:`POINTWISE_MESSAGE`."""
        raise NotImplementedError(POINTWISE_MESSAGE)

    def const_marginal_effect_interval(self, X=None, *, alpha=0.05):
        """Not provided: see :data:`POINTWISE_MESSAGE`."""
        raise NotImplementedError(POINTWISE_MESSAGE)
