"""EconML-compatible adapters: code written for EconML's DML estimators, on sklearn_dml.

Changing ``from econml.dml import LinearDML`` to ``from sklearn_dml.econml import
LinearDML`` runs a script written for EconML (``fit(Y, T, *, X, W)``, ``effect``,
``ate_inference(...).conf_int_mean()``, ...) on a structural DML estimator: a θ-network
with cross-fitting and influence-function debiasing (by default
:class:`~sklearn_dml.StructuralDMLRegressor`, Y = α(x) + β(x)·T + ε; any other with
``estimator=``). Signatures follow EconML; the semantics are these:

* **X** is where the effect varies: θ(x) is reported as a function of X
  (``effect(X)``, ``const_marginal_effect(X)``).
* **W** (controls) joins the network's input next to X: the model adjusts for it as a
  confounder and θ may vary with it, but that heterogeneity is not reported: functions
  of X average it out over the training rows of W (up to 1000 of them, evenly
  spaced), and the averages (``ate``) are over the training rows (X, W) themselves.
* **X=None** means a constant effect, as in EconML: nothing is reported as varying.
  ``effect()``, ``const_marginal_effect()`` and their intervals are then the debiased
  average effect. Without W too the network sees a constant column, θ cannot vary, and
  the estimate is the classical one (OLS of Y on (1, T) with the robust sandwich
  standard error, for the linear model; the MLE for the others).
* **Averages** (``ate``, ``marginal_ate``, ``const_marginal_ate`` and their
  ``_interval`` / ``_inference``) are the debiased averages over the training rows.
  ``ate()`` and ``ate(X_train)`` are the same number. At other rows there are no
  outcomes to debias with: those calls raise and point to ``plugin_ate(X)``, the
  plug-in mean of ``effect(X)`` (EconML's ``ate(X)`` is that plug-in mean).
* **Pointwise intervals** (``effect_interval(X)``, ``const_marginal_effect_inference(X)``
  with X) are not something this method provides; they raise and say so.
* ``score`` is the held-out structural loss (for the linear model the mean squared
  residual): lower is better, as EconML's.

Constructor arguments map as follows: ``model_t`` becomes the estimator's
``lambda_model`` (the regressions on X behind Λ(x); for the linear model E[T | X] and
E[T² | X], EconML's treatment model), ``cv`` its ``cv``, ``mc_iters`` its ``n_rep``
(aggregated by the median), ``random_state`` its ``random_state``. ``model_y``,
``model_final``, ``featurizer`` have no counterpart (the θ-network is the outcome and
the final model and learns its own features): a value other than the default warns
and is ignored. ``discrete_treatment=True`` codes T's categories as EconML does (the
first is the baseline; ``T0``/``T1`` are category labels).
"""

from __future__ import annotations

import numpy as np

from ._econml_adapter import _EconMLAdapter

__all__ = ["LinearDML", "NonParamDML"]


_SHARED_DOC = """
    Parameters
    ----------
    model_y : "auto" or estimator, default="auto"
        Not used: the θ-network is the outcome model (a value warns).
    model_t : "auto" or regressor, default="auto"
        The regressions on X behind Λ(x) (the wrapped estimator's ``lambda_model``); for
        the linear model E[T | X] and E[T² | X], the counterpart of EconML's treatment
        model. A classifier warns and the default is used.
{model_final}    featurizer : None, default=None
        Not used: the network learns its own features of X (a value warns).
{fit_cate_intercept}    discrete_treatment : bool, default=False
        T holds category labels: coded as EconML codes them (the first category is the
        baseline, one 0/1 column per other category); ``T0`` / ``T1`` are labels.
    categories : "auto" or list, default="auto"
        The categories in order, with ``discrete_treatment=True``.
    cv : int, splitter or None, default=None
        Cross-fitting folds; None keeps the estimator's (5 unless set there; EconML's
        default is 2).
    mc_iters : int or None, default=None
        Repetitions of cross-fitting (the estimator's ``n_rep``).
    mc_agg : str, default="median"
        Accepted for compatibility; repetitions are always aggregated by the median
        with the variance adjustment of Chernozhukov et al. (2018).
    random_state : int, RandomState instance or None, default=None
        Seeds the estimator (None keeps the estimator's own).
    estimator : sklearn_dml estimator, default=None
        The model to fit; :class:`~sklearn_dml.StructuralDMLRegressor` when None. Set
        the network here: ``estimator=StructuralDMLRegressor(hidden_dims=(32,))``.

    Attributes
    ----------
    estimator_ : the fitted sklearn_dml estimator
        Its ``summary()``, ``inference(target)`` and diagnostics are all available.
    constant_effect_ : bool
        Whether the fit had X=None.
    feature_names_, control_names_ : list of str
        Columns of X and of W.
    categories_ : ndarray or None
        Treatment categories with ``discrete_treatment=True``.

    See Also
    --------
    sklearn_dml.compare.ate_table : put these fits beside EconML's and DoubleML's.
"""


class LinearDML(_EconMLAdapter):
    __doc__ = """EconML's ``LinearDML`` signatures on a structural DML estimator.

    The effect is not restricted to be linear in X: θ(x) is a network; what carries
    over from EconML is the interface (see :mod:`sklearn_dml.econml` for the
    semantics of X, W and X=None). With X=None, ``intercept_`` is the debiased
    constant effect as in EconML; ``coef_`` is empty then and undefined otherwise.
""" + _SHARED_DOC.format(model_final="", fit_cate_intercept="""\
    fit_cate_intercept : bool, default=True
        Accepted for compatibility (θ(x) has no separate intercept).
""") + """
    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml import StructuralDMLRegressor
    >>> from sklearn_dml.econml import LinearDML
    >>> rng = np.random.RandomState(0)
    >>> W = rng.normal(size=(400, 2))
    >>> T = W[:, 0] + rng.normal(size=400)
    >>> Y = 1.5 * T + W[:, 0] + rng.normal(size=400)
    >>> est = LinearDML(estimator=StructuralDMLRegressor(max_epochs=20), random_state=0)
    >>> est = est.fit(Y, T, X=None, W=W)
    >>> lo, hi = est.ate_interval()
    >>> bool(lo < est.ate() < hi), est.effect().shape
    (True, (1,))
    """

    def __init__(self, *, model_y="auto", model_t="auto", featurizer=None,
                 fit_cate_intercept=True, discrete_treatment=False, categories="auto", cv=None,
                 mc_iters=None, mc_agg="median", random_state=None, estimator=None):
        self.model_y = model_y
        self.model_t = model_t
        self.featurizer = featurizer
        self.fit_cate_intercept = fit_cate_intercept
        self.discrete_treatment = discrete_treatment
        self.categories = categories
        self.cv = cv
        self.mc_iters = mc_iters
        self.mc_agg = mc_agg
        self.random_state = random_state
        self.estimator = estimator

    def _no_coefficients(self):
        raise AttributeError(
            "θ(x) is a network, not a linear function of X: there are no coefficients. Use "
            "const_marginal_ate_inference() for E[β] or estimator_.inference(...) for other "
            "averages.")

    @property
    def intercept_(self):
        """The debiased constant effect of an X=None fit (EconML's CATE intercept)."""
        self._fitted()
        if not self.constant_effect_:
            self._no_coefficients()
        return self.const_marginal_ate()

    def intercept__interval(self, *, alpha=0.05):
        """``(lower, upper)`` of :attr:`intercept_`."""
        if not self.constant_effect_:
            self._no_coefficients()
        return self.const_marginal_ate_interval(alpha=alpha)

    def intercept__inference(self):
        """Inference on :attr:`intercept_`."""
        if not self.constant_effect_:
            self._no_coefficients()
        return self.const_marginal_ate_inference()

    @property
    def coef_(self):
        """Empty for an X=None fit, as EconML's; undefined (AttributeError) with X."""
        self._fitted()
        if not self.constant_effect_:
            self._no_coefficients()
        return np.empty(0)


class NonParamDML(_EconMLAdapter):
    __doc__ = """EconML's ``NonParamDML`` signatures on a structural DML estimator.

    The θ-network plays EconML's ``model_final``: a flexible effect θ(x). See
    :mod:`sklearn_dml.econml` for the semantics of X, W and X=None.
""" + _SHARED_DOC.format(fit_cate_intercept="", model_final="""\
    model_final : None, default=None
        Not used: the θ-network is the final model (a value warns).
""") + """
    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml import StructuralDMLRegressor
    >>> from sklearn_dml.econml import NonParamDML
    >>> rng = np.random.RandomState(0)
    >>> X, W = rng.normal(size=(400, 1)), rng.normal(size=(400, 1))
    >>> T = W[:, 0] + rng.normal(size=400)
    >>> Y = (1 + X[:, 0]) * T + W[:, 0] + rng.normal(size=400)
    >>> est = NonParamDML(estimator=StructuralDMLRegressor(max_epochs=20), random_state=0)
    >>> est = est.fit(Y, T, X=X, W=W)
    >>> bool(est.ate(X) == est.ate())  # the debiased average over the training rows, both ways
    True
    >>> est.effect(X[:3]).shape  # plug-in effects at rows of X, W averaged out
    (3,)
    """

    def __init__(self, *, model_y="auto", model_t="auto", model_final=None, featurizer=None,
                 discrete_treatment=False, categories="auto", cv=None, mc_iters=None,
                 mc_agg="median", random_state=None, estimator=None):
        self.model_y = model_y
        self.model_t = model_t
        self.model_final = model_final
        self.featurizer = featurizer
        self.discrete_treatment = discrete_treatment
        self.categories = categories
        self.cv = cv
        self.mc_iters = mc_iters
        self.mc_agg = mc_agg
        self.random_state = random_state
        self.estimator = estimator
