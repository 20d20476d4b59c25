"""Demo: ``python -m sklearn_dml`` simulates data with known truth, fits, and compares.

Options: ``--n N`` (rows, default 5000), ``--seed S``, ``--quick`` (small, for smoke tests).
"""

from __future__ import annotations

import argparse
import time


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sklearn_dml", description=__doc__)
    parser.add_argument("--n", type=int, default=5000, help="rows to simulate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    args = parser.parse_args(argv)

    from sklearn_dml import LogitDML, StructuralDMLRegressor
    from sklearn_dml.datasets import make_linear_confounded, make_logit

    n = 600 if args.quick else args.n
    extra = dict(max_epochs=20) if args.quick else {}
    demos = [
        ("Linear model, binary treatment that depends on X",
         make_linear_confounded(n, treatment="binary", random_state=args.seed),
         lambda d: StructuralDMLRegressor(random_state=args.seed, **extra)),
        ("Logit model, continuous treatment that depends on X",
         make_logit(n, random_state=args.seed),
         lambda d: LogitDML(random_state=args.seed, **extra)),
    ]
    for title, data, make in demos:
        print(f"\n### {title} (n={n})")
        start = time.perf_counter()
        est = make(data).fit(data.X, data.T, data.Y)
        elapsed = time.perf_counter() - start
        print(est.summary())
        res = est.inference_
        ci = res.conf_int()
        print(f"\nKnown truth (simulated data), fit in {elapsed:.1f} s:")
        for j, name in enumerate(res.names):
            truth = data.truth.get(name)
            if truth is None:
                continue
            inside = "inside" if ci[j, 0] <= truth <= ci[j, 1] else "OUTSIDE"
            print(f"  {name:10s} truth {truth:8.4f}   estimate {res.estimate[j]:8.4f}   "
                  f"95% CI [{ci[j, 0]:.4f}, {ci[j, 1]:.4f}]  {inside}")
    print("\nA 95% interval misses the truth in about 1 run of 20 (see doc/coverage.rst for "
          "coverage over hundreds of runs); try --seed 1, 2, ...")


if __name__ == "__main__":
    main()
