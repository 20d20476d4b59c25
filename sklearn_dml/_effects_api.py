"""EconML-compatible effect methods, shared by every estimator.

Names, keyword-only ``T0``/``T1`` and output shapes follow EconML's CATE
estimators so comparisons are a loop. Semantics differ where EconML's are
surprising: ``ate()`` and ``ate(X_train)`` are both the *debiased* training-sample
average (a plug-in mean at other rows is :meth:`plugin_ate`), and pointwise intervals
are refused with an explanation instead of being faked.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._sklearn_compat import validate_X
from .targets import AverageEffect, AverageMarginalEffect, AverageParameter
from .targets._base import broadcast_t

POINTWISE_MESSAGE = (
    "Pointwise confidence intervals for θ(x) or effects at a single x are not provided by "
    "structural DML: the influence-function correction gives valid inference for averages "
    "only. Use ate_inference(where=mask) for a subgroup average, or "
    "est.inference(target, where=mask) for any other target."
)

NEW_X_MESSAGE = (
    "These X are not the training rows. ate, ate_interval and ate_inference are the debiased "
    "average over the training rows (X=None, or X equal to the training covariates): only "
    "there do the outcomes correct the fitted effects. For the plug-in mean of effect(X) at "
    "other rows (not debiased, no interval) use plugin_ate(X); for a subgroup of the "
    "training rows use where=mask."
)


class _EffectsMixin:
    """effect / marginal_effect / const_marginal_effect / ate / ate_interval / ate_inference.

    The host provides ``theta_``, ``family_``, ``treatment_names_``, ``predict``,
    ``inference`` and ``_training_rows()`` (the fit's rows).
    """

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

    # ------------------------------------------------------------------ averages
    def _check_training_rows(self, X, where):
        """Refuse X other than the training covariates: the averages are debiased there."""
        if X is None:
            return
        X = validate_X(self, X, reset=False)
        X_fit = self._training_rows().covariates()
        if not (X.shape == X_fit.shape and np.array_equal(X, X_fit)):
            raise ValueError(NEW_X_MESSAGE)
        if where is not None:
            raise ValueError("where selects training rows; do not combine it with X.")

    def _at_observed(self, T):
        """None (each row's own treatment) when T is the training T, else T itself."""
        if T is None:
            return None
        values = np.asarray(T, dtype=float)
        T_fit = self._training_rows().T
        if values.size == T_fit.size and np.array_equal(values.reshape(T_fit.shape), T_fit):
            return None
        return T

    def ate_inference(self, X=None, *, T0=0, T1=1, where=None, population="all"):
        """Debiased average effect of moving T from T0 to T1, with inference.

        Parameters
        ----------
        X : None or the training covariates, default=None
            The average is over the training rows, the only rows whose outcomes debias
            it; passing the training ``X`` (as EconML code does) means the same. Other
            rows raise: use :meth:`plugin_ate` for a plug-in average there.
        T0, T1 : float or array-like, default=0 and 1
        where : bool array of shape (n_samples,), default=None
            Restrict to a subgroup of training rows (a debiased group average).
        population : {"all", "treated", "untreated"} or tuple, default="all"
            "treated": the average effect on the treated (ATT) of a binary treatment;
            see :meth:`inference`.

        Returns
        -------
        InferenceResults
            With EconML's ``mean_point``, ``stderr_mean``, ``conf_int_mean()``, and
            ``summary_frame()``, ``conf_int()``, ``pvalue()``, ``zstat()``.
        """
        self._check_training_rows(X, where)
        return self.inference(AverageEffect(T0, T1), where=where, population=population)

    def ate(self, X=None, *, T0=0, T1=1, where=None, population="all"):
        """Debiased average effect of moving T from T0 to T1 over the training rows.

        ``ate()`` and ``ate(X_train)`` are the same number. For the plug-in mean of
        :meth:`effect` at other rows, see :meth:`plugin_ate`.

        Returns
        -------
        float
        """
        return float(self.ate_inference(X, T0=T0, T1=T1, where=where,
                                        population=population).estimate[0])

    def ate_interval(self, X=None, *, T0=0, T1=1, alpha=0.05, where=None, population="all"):
        """Confidence interval of the debiased average effect: ``(lower, upper)``."""
        return self.ate_inference(X, T0=T0, T1=T1, where=where,
                                  population=population).conf_int_mean(alpha=alpha)

    def plugin_ate(self, X=None, *, T0=0, T1=1):
        """Plug-in average of :meth:`effect` at rows ``X``: no debiasing, no interval.

        With ``X=None``, the (weighted) mean over the training rows of the cross-fitted
        effects, the uncorrected estimate that ``ate`` debiases.

        Returns
        -------
        float
        """
        effects = self.effect(X, T0=T0, T1=T1)
        weights = self._training_rows().weights if X is None else None
        return float(np.average(effects, weights=weights))

    def marginal_ate_inference(self, T, X=None, *, where=None):
        """Debiased average marginal effect ∂E[Y | X, t]/∂t at treatments ``T``.

        Parameters
        ----------
        T : float or array-like
            Where to differentiate: a scalar, one value per treatment, or one row per
            training row. The training ``T`` means each row's observed treatment.
        X : None or the training covariates, default=None
        where : bool array of shape (n_samples,), default=None

        Returns
        -------
        InferenceResults
            One target per treatment.
        """
        self._check_training_rows(X, where)
        at = self._at_observed(T)
        return self.inference([AverageMarginalEffect(j, at=at)
                               for j in range(len(self.treatment_names_))], where=where)

    def marginal_ate(self, T, X=None, *, where=None):
        """Debiased average marginal effect at ``T``: a float, or one per treatment."""
        return self.marginal_ate_inference(T, X, where=where).mean_point

    def marginal_ate_interval(self, T, X=None, *, alpha=0.05, where=None):
        """Confidence interval of :meth:`marginal_ate`: ``(lower, upper)``."""
        return self.marginal_ate_inference(T, X, where=where).conf_int_mean(alpha=alpha)

    def const_marginal_ate_inference(self, X=None, *, where=None):
        """Debiased E[β(X)], the average of :meth:`const_marginal_effect`, with inference.

        Only for families whose E[Y | x, t] is linear in t (the marginal effect is then
        the same at every t).

        Returns
        -------
        InferenceResults
            One target per treatment.
        """
        if not getattr(self.family_, "linear_in_t", False):
            raise NotImplementedError(
                f"E[Y | x, t] is not linear in t for the {self.family_.name!r} family, so the "
                "marginal effect depends on t. Use marginal_ate(T) or ate(T0=..., T1=...).")
        self._check_training_rows(X, where)
        # β_j(x) = θ_{1+j}(x), as in const_marginal_effect
        return self.inference([AverageParameter(1 + j)
                               for j in range(len(self.treatment_names_))], where=where)

    def const_marginal_ate(self, X=None, *, where=None):
        """Debiased E[β(X)]: a float, or one per treatment."""
        return self.const_marginal_ate_inference(X, where=where).mean_point

    def const_marginal_ate_interval(self, X=None, *, alpha=0.05, where=None):
        """Confidence interval of :meth:`const_marginal_ate`: ``(lower, upper)``."""
        return self.const_marginal_ate_inference(X, where=where).conf_int_mean(alpha=alpha)

    def effect_interval(self, X=None, *, T0=0, T1=1, alpha=0.05):
        """Not provided: see :data:`POINTWISE_MESSAGE`."""
        raise NotImplementedError(POINTWISE_MESSAGE)

    def effect_inference(self, X=None, *, T0=0, T1=1):
        """Not provided: see :data:`POINTWISE_MESSAGE`."""
        raise NotImplementedError(POINTWISE_MESSAGE)

    def const_marginal_effect_interval(self, X=None, *, alpha=0.05):
        """Not provided: see :data:`POINTWISE_MESSAGE`."""
        raise NotImplementedError(POINTWISE_MESSAGE)

    def const_marginal_effect_inference(self, X=None):
        """Not provided: see :data:`POINTWISE_MESSAGE`."""
        raise NotImplementedError(POINTWISE_MESSAGE)
