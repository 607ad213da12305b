"""The paper's pipeline end to end: baseline -> NAS -> augmentation check -> HPO -> test score.

    python experiments/pipeline.py --scale cpu --out runs/pipeline     # digits, 2 CPU cores
    python experiments/pipeline.py --scale paper --out runs/paper      # CIFAR-10, one GPU

Each step is one hsearch workflow with its own run directory under --out (1-baseline, 2-nas,
3-augment-on / 3-augment-off, 4-hpo, 5-test), configured by experiments/<scale>/<step>.yaml:

1. baseline selection: every model of baseline.yaml, K seeds each; the best mean accuracy wins;
2. NAS on the winner (nas.yaml, with arch.model replaced): min MACs s.t. acc >= the baseline's;
3. augmentation check: the NAS architecture trained with the paper's augmentation (AutoAugment
   CIFAR policy + Cutout + crop/flip) and without any, on the validation split; the better one
   is kept for the next steps;
4. HPO of the training hyperparameters for the NAS architecture (hpo.yaml);
5. the final number: the HPO's best configuration on the held-out test split (evaluate.yaml).

--max-evals / --seeds / --budget shrink every step for a quick try; --address joins a Ray
cluster. Prints every step's summary and, at the end, one line per step.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("cpu", "paper"), default="cpu")
    parser.add_argument("--out", default="runs/pipeline", help="folder of the step run dirs")
    parser.add_argument("--address", default=None, help="Ray cluster ('auto' or host:port)")
    parser.add_argument("--max-evals", type=int, default=None, help="evaluations of NAS and HPO")
    parser.add_argument("--seeds", type=int, default=None, help="K of every step")
    parser.add_argument("--budget", default=None, help="per-seed budget of every step")
    args = parser.parse_args(argv)

    from hsearch.data import AugmentConfig
    from hsearch.workflows.evaluation import from_run
    from hsearch.workflows.launch import run_workflow
    from hsearch.workflows.settings import (
        BaselineSettings,
        EvaluateSettings,
        HpoSettings,
        NasSettings,
        load_settings,
    )

    folder = HERE / args.scale
    out = Path(args.out)
    common = {"resources.address": args.address, "seeds": args.seeds, "budget": args.budget}
    search = {"search.max_evals": args.max_evals}
    started = time.monotonic()
    lines = []

    def step(name: str, summary: str) -> None:
        print(f"\n===== {name} =====\n{summary}\n", flush=True)

    # 1. baseline selection
    settings = load_settings(BaselineSettings, folder / "baseline.yaml",
                             {**common, "out": str(out / "1-baseline")})
    baseline = run_workflow("baseline", settings, echo=True)
    step("1 baseline selection", baseline.summary)
    winner = baseline.rows[0]
    lines.append(f"baseline  {winner['arch_model']}: acc {winner['acc_mean']:.4f} "
                 f"± {winner['acc_std']:.4f}")

    # 2. NAS on the winner
    settings = load_settings(NasSettings, folder / "nas.yaml",
                             {**common, **search, "arch.model": winner["arch_model"],
                              "out": str(out / "2-nas")})
    nas = run_workflow("nas", settings, echo=True)
    step("2 NAS", nas.summary)
    if nas.best is None:
        print("the NAS found no feasible architecture; stopping", file=sys.stderr)
        return 1
    lines.append(f"NAS       {nas.best['macs'] / 1e6:.2f}M MACs "
                 f"({nas.best['macs'] / nas.baseline['macs']:.2f}x the baseline), acc "
                 f"{nas.best['acc_mean']:.4f}")

    # 3. augmentation check: the NAS architecture with and without augmentation (val split)
    base = load_settings(EvaluateSettings, folder / "evaluate.yaml",
                         {**common, "split": "val", "seeds": args.seeds or settings.seeds})
    base = from_run(base, nas.run_dir)
    scores = {}
    for label, augment in (("on", AugmentConfig()),
                           ("off", AugmentConfig(crop_flip=False, autoaugment=False,
                                                 cutout=False))):
        check = dataclasses.replace(base, train=dataclasses.replace(base.train, augment=augment),
                                    out=str(out / f"3-augment-{label}"))
        result = run_workflow("evaluate", check, echo=True)
        step(f"3 augmentation {label}", result.summary)
        scores[label] = (result.row["acc_mean"], augment)
    chosen = max(scores, key=lambda k: scores[k][0])
    lines.append(f"augment   on {scores['on'][0]:.4f} vs off {scores['off'][0]:.4f}: "
                 f"keeping it {chosen}")

    # 4. HPO for the NAS architecture, with the chosen augmentation
    settings = load_settings(HpoSettings, folder / "hpo.yaml",
                             {**common, **search, "from_nas": str(nas.run_dir),
                              "train.augment": scores[chosen][1], "out": str(out / "4-hpo")})
    hpo = run_workflow("hpo", settings, echo=True)
    step("4 HPO", hpo.summary)
    best = hpo.best
    lines.append(f"HPO       {best['train_optimizer']} lr {best['train_lr']:.4g} wd "
                 f"{best['train_weight_decay']:g} batch {best['train_batch_size']}: acc "
                 f"{best['acc_mean']:.4f}")

    # 5. the reported number: test split
    settings = load_settings(EvaluateSettings, folder / "evaluate.yaml",
                             {**common, "from_run": str(hpo.run_dir), "out": str(out / "5-test")})
    test = run_workflow("evaluate", settings, echo=True)
    step("5 test evaluation", test.summary)
    lines.append(f"test      acc {test.row['acc_mean']:.4f} ± {test.row['acc_std']:.4f} over "
                 f"{test.row['seeds_done']} seeds")

    print("===== pipeline =====")
    print("\n".join(lines))
    print(f"{time.monotonic() - started:.0f} s; run directories in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
