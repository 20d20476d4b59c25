"""Result tables: text, HTML, pandas, LaTeX and CSV renderings of the same numbers."""

from __future__ import annotations

import html
import textwrap

import numpy as np

COLUMNS = ["point_estimate", "stderr", "zstat", "pvalue", "ci_lower", "ci_upper"]


def _doubleml_columns(alpha):
    lo, hi = 100 * alpha / 2, 100 * (1 - alpha / 2)
    return ["coef", "std err", "t", "P>|t|", f"{lo:g} %", f"{hi:g} %"]


class Summary:
    """A table of debiased estimates plus a diagnostics block.

    ``print(summary)`` gives a text table; in a notebook it renders as HTML;
    ``to_frame()`` returns a pandas DataFrame with the EconML column names
    ``point_estimate, stderr, zstat, pvalue, ci_lower, ci_upper``; ``to_latex()`` and
    ``to_csv()`` write that frame with pandas' own writers.

    Parameters
    ----------
    names : list of str
        Row labels (targets).
    columns : dict of str -> ndarray
        The six columns of :data:`COLUMNS`.
    diagnostics : dict
        Extra figures printed under the table.
    alpha : float
        1 − confidence level of the intervals.
    decimals : int
        Digits shown in text and HTML.
    title : str, optional
    dof : int, optional
        Degrees of freedom of the t law behind the p-values and intervals (G − 1 with G
        clusters); None for the normal law.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_dml import InferenceResults
    >>> res = InferenceResults(["E[beta]"], [1.2], [[0.0004]])
    >>> summary = res.summary()  # a Summary; est.summary() gives one from a fit
    >>> summary.names
    ['E[beta]']
    >>> summary.to_frame()[["point_estimate", "stderr"]]  # doctest: +SKIP
             point_estimate  stderr
    E[beta]             1.2    0.02
    """

    def __init__(self, names, columns, diagnostics=None, alpha=0.05, decimals=4, title=None,
                 dof=None):
        self.names = list(names)
        self.columns = {k: np.asarray(columns[k], dtype=float) for k in COLUMNS}
        self.diagnostics = dict(diagnostics or {})
        self.alpha = alpha
        self.decimals = decimals
        self.title = title or "Debiased estimates (structural DML)"
        self.dof = dof

    def to_frame(self, style="econml"):
        """The main table as a pandas DataFrame.

        Parameters
        ----------
        style : {"econml", "doubleml"}, default="econml"
            Column names: EconML's ``point_estimate ... ci_upper`` or DoubleML's
            ``coef, std err, t, P>|t|, 2.5 %, 97.5 %``.
        """
        import pandas as pd

        if style not in ("econml", "doubleml"):
            raise ValueError(f"style must be 'econml' or 'doubleml'; got {style!r}.")
        cols = COLUMNS if style == "econml" else _doubleml_columns(self.alpha)
        data = {c: self.columns[k] for c, k in zip(cols, COLUMNS)}
        return pd.DataFrame(data, index=pd.Index(self.names, name="target"))

    def diagnostics_frame(self):
        """The diagnostics block as a one-column pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame({"value": list(self.diagnostics.values())},
                            index=list(self.diagnostics))

    def _cells(self):
        fmt = f"{{:.{self.decimals}f}}"
        out = []
        for i in range(len(self.names)):
            row = []
            for k in COLUMNS:
                v = self.columns[k][i]
                row.append(f"{v:.3g}" if k == "pvalue" and 0 < v < 10**-self.decimals
                           else fmt.format(v))
            out.append(row)
        return out

    @property
    def warnings(self):
        """The warnings the fit, or the inference behind this table, raised
        (``diagnostics["warnings"]``), shown under the table."""
        return tuple(self.diagnostics.get("warnings", ()))

    def _diag_lines(self):
        lines = []
        for key, val in self.diagnostics.items():
            if key == "warnings":
                continue
            if isinstance(val, (list, tuple, np.ndarray)):
                val = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in val)
            elif isinstance(val, float):
                val = f"{val:.4g}"
            lines.append((key, str(val)))
        return lines

    def _footnote(self):
        level = f"{100 * (1 - self.alpha):g}%"
        if self.dof is None:
            return f"{level} confidence intervals (normal approximation)."
        return (f"{level} confidence intervals and p-values from t({self.dof}): "
                f"{self.dof + 1} clusters.")

    def as_text(self):
        """The table as plain text."""
        header = ["", *COLUMNS]
        cells = self._cells()
        body = [[n, *c] for n, c in zip(self.names, cells)]
        widths = [max(len(r[j]) for r in [header, *body]) for j in range(len(header))]
        fmt_row = lambda r: "  ".join(  # noqa: E731
            r[j].ljust(widths[j]) if j == 0 else r[j].rjust(widths[j]) for j in range(len(r)))
        rule = "=" * sum(widths + [2 * (len(widths) - 1)])
        lines = [self.title, rule, fmt_row(header), "-" * len(rule),
                 *[fmt_row(r) for r in body], rule,
                 self._footnote()]
        if self.warnings:
            lines += ["", "Warnings raised by the fit"]
            lines += [textwrap.fill(m, max(len(rule), 72), initial_indent="  - ",
                                    subsequent_indent="    ", break_on_hyphens=False,
                                    break_long_words=False) for m in self.warnings]
        diag = self._diag_lines()
        if diag:
            w = max(len(k) for k, _ in diag)
            lines += ["", "Diagnostics", *[f"  {k.ljust(w)}  {v}" for k, v in diag]]
        return "\n".join(lines)

    __str__ = as_text

    def __repr__(self):
        return self.as_text()

    def _repr_html_(self):
        head = "".join(f"<th>{html.escape(c)}</th>" for c in ["", *COLUMNS])
        rows = "".join(
            "<tr><th>{}</th>{}</tr>".format(html.escape(n), "".join(f"<td>{c}</td>" for c in cells))
            for n, cells in zip(self.names, self._cells()))
        diag = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                       for k, v in self._diag_lines())
        return (f"<div><p><b>{html.escape(self.title)}</b></p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
                f"<p>{html.escape(self._footnote())}</p>"
                + ("<p><b>Warnings raised by the fit</b></p><ul>"
                   + "".join(f"<li>{html.escape(m)}</li>" for m in self.warnings) + "</ul>"
                   if self.warnings else "")
                + (f"<table><caption>Diagnostics</caption>{diag}</table>" if diag else "")
                + "</div>")

    def to_latex(self, buf=None, **kwargs):
        """The main table as a LaTeX tabular, written by :meth:`pandas.DataFrame.to_latex`.

        Names and column headers are escaped (``&``, ``%``, ``$``, ``_``, ``#``, braces),
        numbers are shown with ``decimals`` digits, and the tabular uses booktabs rules
        (``\\usepackage{booktabs}``). Needs pandas and jinja2.

        Parameters
        ----------
        buf : str, path or file-like, default=None
            Where to write; None returns the text.
        **kwargs
            Passed to :meth:`pandas.DataFrame.to_latex` (e.g. ``caption``, ``label``,
            ``float_format``).

        Returns
        -------
        str or None
        """
        kwargs.setdefault("escape", True)
        kwargs.setdefault("float_format", f"%.{self.decimals}f")
        return self.to_frame().to_latex(buf, **kwargs)

    def to_csv(self, path_or_buf=None, **kwargs):
        """The main table as CSV, written by :meth:`pandas.DataFrame.to_csv`.

        Full precision; names with commas or quotes are quoted, so
        ``pandas.read_csv(..., index_col=0)`` reads the same table back.

        Parameters
        ----------
        path_or_buf : str, path or file-like, default=None
            Where to write; None returns the text.
        **kwargs
            Passed to :meth:`pandas.DataFrame.to_csv`.

        Returns
        -------
        str or None
        """
        return self.to_frame().to_csv(path_or_buf, **kwargs)

    def as_latex(self):
        """The main table as LaTeX text: ``to_latex()``."""
        return self.to_latex()

    def as_csv(self):
        """The main table as CSV text: ``to_csv()``."""
        return self.to_csv()
