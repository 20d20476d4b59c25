"""Average of one component of θ: E[θⱼ(X)]."""

from __future__ import annotations

import numpy as np

from ._base import Target


class AverageParameter(Target):
    """μ = E[θⱼ(X)], for example E[β(X)] in the linear model.

    Parameters
    ----------
    param : int or str
        Index into θ, or its name (``"alpha"``, ``"beta"``, ``"beta[price]"``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml.families import LogitFamily
    >>> from sklearn_dml.targets import AverageParameter
    >>> family = LogitFamily()
    >>> theta = np.array([[0.1, 0.3], [-0.2, 0.5]])  # θ̂(x) = (α, β) for two rows
    >>> t = np.array([[0.0], [1.0]])
    >>> target = AverageParameter("beta")
    >>> target.name(["alpha", "beta"], ["price"])  # a named treatment labels β
    'E[beta[price]]'
    >>> target.name(["alpha", "beta"], ["T"])
    'E[beta]'
    >>> target.bind(["alpha", "beta"]).value(family, theta, t)  # H = β(x) per row
    array([0.3, 0.5])
    """

    def __init__(self, param):
        self.param = param

    def index(self, theta_names):
        if isinstance(self.param, (int, np.integer)):
            if not 0 <= self.param < len(theta_names):
                raise ValueError(
                    f"Parameter index {self.param} is out of range for θ = {theta_names}."
                )
            return int(self.param)
        if self.param in theta_names:
            return theta_names.index(self.param)
        raise ValueError(f"Unknown parameter {self.param!r}; θ has components {theta_names}.")

    def name(self, theta_names, treatment_names):
        component = theta_names[self.index(theta_names)]
        # one treatment's coefficient is "beta" in θ; a named treatment labels it, as
        # several treatments' "beta[price]" do ("T", the default name, adds nothing)
        if (component == "beta" and len(treatment_names) == 1
                and treatment_names[0] != "T"):
            component = f"beta[{treatment_names[0]}]"
        return f"E[{component}]"

    def bind(self, theta_names):
        self._j = self.index(theta_names)
        return self

    def value(self, family, theta, t):
        return np.asarray(theta[:, self._j], dtype=float)

    def jacobian(self, family, theta, t):
        jac = np.zeros_like(theta, dtype=float)
        jac[:, self._j] = 1.0
        return jac

    def torch_value(self, family, theta, t):
        return theta[:, self._j]
