"""Post-estimation for every estimator: θ̂ per row by name, a coefficient table, and plots.

In the style of torch-choice's ``get_coefficient``: ``"beta"`` (linear family),
``"beta[price]"`` or ``"alpha[item_2]"`` (choice model) name one θ component; a
prefix such as ``"beta"`` in a model with ``beta[price]`` and ``beta[quality]``
names the whole block. Plots mark the *debiased* mean with its confidence
interval: the histogram of θ̂(w_i) shows heterogeneity, but only its mean (and
other averages) carries valid inference.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._nets import member_to_module

MATPLOTLIB_MISSING = (
    "Plotting needs matplotlib, an optional dependency: pip install matplotlib "
    "(or pip install 'sklearn_dml[plot]')."
)


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(MATPLOTLIB_MISSING) from exc
    return plt


def group_means(values, labels, names, block):
    """Means of ``values`` (m,) or (m, k) within groups, sorted by label.

    A pandas Series (one coefficient) or DataFrame (a block) indexed by group; a
    dict label → mean when pandas is missing.
    """
    groups, code = np.unique(labels, return_inverse=True)
    counts = np.bincount(code, minlength=groups.size)
    vals = values.reshape(values.shape[0], -1)
    sums = np.stack([np.bincount(code, weights=vals[:, j], minlength=groups.size)
                     for j in range(vals.shape[1])], axis=1)
    means = sums / counts[:, None]
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - depends on the environment
        return dict(zip(groups.tolist(), means if block else means[:, 0]))
    index = pd.Index(groups, name="group")
    if block:
        return pd.DataFrame(means, index=index, columns=names)
    return pd.Series(means[:, 0], index=index, name=names[0])


class _PostEstimationMixin:
    """get_coefficient, coef_frame, plot_coefficient_distribution, plot_coefficient_dependence.

    The host provides ``theta_``, ``theta_names_``, ``predict``, ``inference``,
    ``models_``, ``n_networks`` and ``_training_rows()`` (the fit's rows).
    """

    def get_network(self, rep=0, fold=0, member=0):
        """One fold's θ-network as a stand-alone :class:`~sklearn_dml.StructuralNet`.

        Its input is X as the fit scaled it (see ``x_scaling_``; :meth:`predict` applies
        that scaling to X in your units).

        Parameters
        ----------
        rep : int, default=0
            Cross-fitting repetition.
        fold : int, default=0
            Fold whose held-out rows the network predicts.
        member : int, default=0
            Which of the fold's ``n_networks`` networks.

        Returns
        -------
        StructuralNet
        """
        check_is_fitted(self)
        if not 0 <= member < self.n_networks:
            raise ValueError(f"member must be in [0, {self.n_networks}); got {member}.")
        return member_to_module(self.models_[rep], fold * self.n_networks + member)

    def _coefficient_columns(self, name):
        names = list(self.theta_names_)
        if isinstance(name, (int, np.integer)):
            if not 0 <= name < len(names):
                raise ValueError(f"Coefficient index {name} is out of range for θ = {names}.")
            return [int(name)], False
        if name in names:
            return [names.index(name)], False
        block = [j for j, n in enumerate(names) if n.startswith(f"{name}[")]
        if block:
            return block, True
        raise ValueError(f"Unknown coefficient {name!r}; θ has components {names} (a prefix such "
                         "as 'beta' names the whole block).")

    def get_coefficient(self, name, X=None, *, by=None):
        """θ̂ per row for one coefficient (or a block of them), by name.

        Parameters
        ----------
        name : str or int
            A θ name (``"beta"``, ``"beta[price]"``, ``"alpha[item_2]"``), a block
            prefix (``"beta"`` for all ``beta[...]``), or an index into θ.
        X : array-like of shape (m, n_features), default=None
            Where to evaluate θ̂; None gives the training rows' cross-fitted θ̂.
        by : str or array-like of shape (m,), default=None
            Group labels (e.g. a user id), or the name of a column of ``X`` (of the
            training ``X`` when ``X`` is None): θ̂ is then averaged within each group.

        Returns
        -------
        ndarray of shape (m,) for one coefficient, (m, k) for a block. With ``by``, one
        row per group (sorted): a pandas Series (one coefficient) or DataFrame (a
        block) indexed by group, or a dict group → value when pandas is missing.

        Examples
        --------
        >>> est.get_coefficient("beta[price]")[:3]  # doctest: +SKIP
        array([-1.12, -0.98, -1.31])
        """
        check_is_fitted(self)
        cols, block = self._coefficient_columns(name)
        return self._coefficient_values(cols, block, X, by)

    def _coefficient_values(self, cols, block, X, by):
        """θ̂ columns per row, or their group means with ``by``."""
        theta = self.theta_ if X is None else self.predict(X)
        values = theta[:, cols] if block else theta[:, cols[0]]
        if by is None:
            return values
        labels = self._group_labels(by, X, theta.shape[0])
        return group_means(values, labels, [self.theta_names_[j] for j in cols], block)

    def _group_labels(self, by, X, n):
        """Per-row group labels from an array, or from a named column of X."""
        if isinstance(by, str):
            if X is not None and hasattr(X, "columns"):
                if by not in X.columns:
                    raise ValueError(f"by={by!r} is not a column of X; it has {list(X.columns)}.")
                return np.asarray(X[by])
            if X is not None:
                raise ValueError(f"by={by!r} names a column, but X has no column names: pass "
                                 "the group labels as an array.")
            return self._training_feature(by)[0]
        labels = np.asarray(by)
        if labels.ndim != 1 or labels.shape[0] != n:
            raise ValueError(f"by must hold one group label per row ({n}); got shape "
                             f"{labels.shape}.")
        return labels

    def coef_frame(self, X=None):
        """θ̂ per row as a pandas DataFrame, one column per θ component.

        Parameters
        ----------
        X : array-like of shape (m, n_features), default=None
            Where to evaluate; None gives the training rows' cross-fitted θ̂.

        Returns
        -------
        pandas.DataFrame of shape (m, n_theta)
        """
        import pandas as pd

        check_is_fitted(self)
        theta = self.theta_ if X is None else self.predict(X)
        index = getattr(X, "index", None)
        return pd.DataFrame(theta, columns=list(self.theta_names_), index=index)

    def _one_coefficient(self, name):
        cols, block = self._coefficient_columns(name)
        if block and len(cols) > 1:
            raise ValueError(f"{name!r} names {len(cols)} coefficients; plot one of "
                             f"{[self.theta_names_[j] for j in cols]}.")
        return cols[0]

    def plot_coefficient_distribution(self, name, *, ax=None, bins=40, kde=True, alpha=0.05):
        """Histogram (and KDE) of θ̂(w_i) with the debiased mean and its CI marked.

        Parameters
        ----------
        name : str or int
            One θ component.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        bins : int, default=40
        kde : bool, default=True
            Overlay a Gaussian kernel density estimate.
        alpha : float, default=0.05
            1 − confidence level of the marked interval.

        Returns
        -------
        matplotlib Axes
        """
        check_is_fitted(self)
        j = self._one_coefficient(name)
        plt = _pyplot()
        label = self.theta_names_[j]
        values = self.theta_[:, j]
        res = self.inference(label)
        lo, hi = res.conf_int(alpha)[0]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist(values, bins=bins, density=True, color="0.75", edgecolor="white",
                label=f"θ̂(w_i), cross-fitted (n={values.size})")
        if kde and np.ptp(values) > 0:
            from scipy.stats import gaussian_kde

            grid = np.linspace(values.min(), values.max(), 200)
            ax.plot(grid, gaussian_kde(values)(grid), color="0.3", lw=1.2)
        ax.axvspan(lo, hi, color="C0", alpha=0.25,
                   label=f"{100 * (1 - alpha):.0f}% CI [{lo:.3g}, {hi:.3g}]")
        ax.axvline(res.estimate[0], color="C0", lw=2,
                   label=f"debiased E[{label}] = {res.estimate[0]:.3g}")
        ax.set_xlabel(label)
        ax.set_ylabel("density")
        ax.legend(fontsize="small", frameon=False)
        return ax

    def _training_feature(self, feature):
        X = self._training_rows().covariates()
        names = getattr(self, "feature_names_in_", None)
        if isinstance(feature, str):
            if names is None or feature not in list(names):
                raise ValueError(f"Unknown feature {feature!r}; "
                                 + ("X had no column names: pass an index." if names is None
                                    else f"features are {list(names)}."))
            j = list(names).index(feature)
        else:
            j = int(feature)
            if not 0 <= j < X.shape[1]:
                raise ValueError(f"Feature index {j} is out of range for {X.shape[1]} features.")
        return X[:, j], (str(names[j]) if names is not None else f"x{j}")

    def plot_coefficient_dependence(self, name, feature, *, ax=None, n_bins=20):
        """θ̂(w_i) against one covariate, with binned means: how preferences vary.

        Parameters
        ----------
        name : str or int
            One θ component.
        feature : str or int
            Column of X (name if X had column names, else index).
        ax : matplotlib Axes, default=None
        n_bins : int, default=20
            Quantile bins for the binned-mean line.

        Returns
        -------
        matplotlib Axes
        """
        check_is_fitted(self)
        j = self._one_coefficient(name)
        plt = _pyplot()
        x, xname = self._training_feature(feature)
        values = self.theta_[:, j]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        ax.scatter(x, values, s=4, alpha=0.3, color="0.5", label="θ̂(w_i), cross-fitted")
        edges = np.unique(np.quantile(x, np.linspace(0, 1, n_bins + 1)))
        if edges.size > 2:
            which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
            counts = np.bincount(which, minlength=edges.size - 1)
            keep = counts > 0
            means = np.bincount(which, weights=values, minlength=edges.size - 1)[keep]
            centers = np.bincount(which, weights=x, minlength=edges.size - 1)[keep]
            ax.plot(centers / counts[keep], means / counts[keep], color="C0", lw=2,
                    label="binned mean")
        ax.set_xlabel(xname)
        ax.set_ylabel(self.theta_names_[j])
        ax.legend(fontsize="small", frameon=False)
        return ax
