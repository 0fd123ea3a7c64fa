"""Scratch experiments: candidate speed-ups of run_epoch / full_pass / Adam, measured without editing src.

Usage, from the repository root::

    python -m bench.experiments step        # training-step recipes, 1 thread
    python -m bench.experiments eval        # test-pass recipes
    python -m bench.experiments exact       # do the recipes keep results bit-identical (vs baseline, alone vs stack)?
    python -m bench.experiments stack       # canonical d=200 samples/s vs stack size, best recipe
    python -m bench.experiments denormal    # epoch time early vs late in a real training, denormals kept vs flushed
    python -m bench.experiments kernels     # 20-epoch deep training on each matrix-product kernel: final losses
    python -m bench.experiments precision   # fp32 vs bf16 on the calibration's N = 100 cells: pct per cell
    python -m bench.experiments precision --against onednn --arch deep   # fp32 on two kernels: rounding alone

Every recipe draws exactly the random numbers of `bvae.training.train.run_epoch` in the same order.
"""

from __future__ import annotations

import argparse
import math
import resource
import time
from pathlib import Path
from unittest import mock

import torch
from bench.roofline.machine import wait_for_idle
from bench.roofline.measure import BATCH, make_model

from bvae.model.resources import EVAL_ROWS
from bvae.model.settings import TrainSettings
from bvae.training.train import full_pass, run_epoch

ADAM_EPS = TrainSettings().adam_eps

# ------------------------------------------------------------------------------------------- epoch variants


def epoch_pregather(model, opt, x, gens, batch_size, set_to_none=True):
    """run_epoch with one gather per epoch (x[perm], contiguous per seed) instead of one per step."""
    n, kappa = x.shape[0], model.mu.weight.shape[-1]
    perm = torch.stack([torch.randperm(n, generator=g) for g in gens])
    noise = torch.stack([torch.randn(n, kappa, generator=g) for g in gens])
    xs = x[perm]  # (S, n, d)
    total = torch.zeros(len(gens))
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        loss = model.losses(xs[:, start:stop], noise[:, start:stop])[0].mean(1)
        opt.zero_grad(set_to_none=set_to_none)
        loss.sum().backward()
        opt.step()
        total += loss.detach() * (stop - start)
    return total / n


def make_compiled_epoch(model):
    """run_epoch with model.losses compiled by torch.compile (inductor, CPU)."""
    compiled = torch.compile(model.losses, dynamic=False)

    def epoch(model, opt, x, gens, batch_size):
        n, kappa = x.shape[0], model.mu.weight.shape[-1]
        perm = torch.stack([torch.randperm(n, generator=g) for g in gens])
        noise = torch.stack([torch.randn(n, kappa, generator=g) for g in gens])
        xs = x[perm]
        total = torch.zeros(len(gens))
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            loss = compiled(xs[:, start:stop], noise[:, start:stop])[0].mean(1)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
            total += loss.detach() * (stop - start)
        return total / n

    return epoch


def losses_signed(model, x, eps, sign):
    """model.losses with the BCE of 0/1 data as softplus(sign * logits), sign = 1 - 2x precomputed per epoch."""
    mu, logvar = model.encode(x)
    logits = model.decode(mu + eps * torch.exp(0.5 * logvar))
    nll = torch.nn.functional.softplus(sign * logits).sum(-1)
    kl = 0.5 * (torch.exp(logvar) + mu**2 - 1 - logvar).sum(-1)
    return nll + kl, kl


def epoch_signed(model, opt, x, gens, batch_size):
    """epoch_pregather with the signed-softplus likelihood (sign = 1 - 2x gathered once per epoch)."""
    n, kappa = x.shape[0], model.mu.weight.shape[-1]
    perm = torch.stack([torch.randperm(n, generator=g) for g in gens])
    noise = torch.stack([torch.randn(n, kappa, generator=g) for g in gens])
    xs = x[perm]
    sign = 1 - 2 * xs
    total = torch.zeros(len(gens))
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        loss = losses_signed(model, xs[:, start:stop], noise[:, start:stop], sign[:, start:stop])[0].mean(1)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        total += loss.detach() * (stop - start)
    return total / n


# ------------------------------------------------------------------------------------------- eval variants


@torch.inference_mode()
def full_pass_per_sample(model, x, gens, samples=1):
    """The evaluation before the change: the encoder ran again for every noise draw (bvae.training.train.full_pass
    encodes each chunk once). Draws the same noise in the same order, so the losses must be identical."""
    S, kappa = model.stack_size, model.mu.weight.shape[-1]
    loss = torch.zeros(S)
    for start in range(0, x.shape[0], EVAL_ROWS):
        rows = x[start : start + EVAL_ROWS].expand(S, -1, -1)
        model.encode(rows)  # the old pass encoded once more for the posterior means
        for _ in range(samples):
            noise = torch.stack([torch.randn(rows.shape[1], kappa, generator=g) for g in gens])
            loss += model.losses(rows, noise)[0].sum(1) / samples
    return {"loss": (loss / x.shape[0]).numpy()}


# ------------------------------------------------------------------------------------------- harness


RECIPES = {
    "baseline": (run_epoch, {}),
    "adam foreach": (run_epoch, {"foreach": True}),
    "adam fused": (run_epoch, {"fused": True}),
    "pregather": (epoch_pregather, {}),
    "fused+pregather": (epoch_pregather, {"fused": True}),
    "fused+zero_grad(None=False)": (lambda *a: epoch_pregather(*a, set_to_none=False), {"fused": True}),
    "fused+pregather+signed": (epoch_signed, {"fused": True}),
}


def setup(arch, d, S, adam_kwargs):
    model, _, x, x_test, gens = make_model(arch, "vanilla", d, S)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=ADAM_EPS, **adam_kwargs)
    return model, opt, x, x_test, gens


def time_recipe(arch, d, S, recipe, steps, repeats, compiled=False):
    epoch, adam_kwargs = RECIPES[recipe] if not compiled else (None, {"fused": True})
    model, opt, x, _, gens = setup(arch, d, S, adam_kwargs)
    if compiled:
        epoch = make_compiled_epoch(model)
    model.train()
    epoch(model, opt, x[: 3 * BATCH], gens, BATCH)
    rows = x[: steps * BATCH]
    best, faults = math.inf, 0
    for _ in range(repeats):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t = time.perf_counter()
        epoch(model, opt, rows, gens, BATCH)
        best = min(best, (time.perf_counter() - t) / steps)
        faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / steps
    return best, faults


def cmd_step(args):
    configs = [("deep", 200, 1), ("deep", 1000, 1), ("canonical", 200, 1), ("canonical", 200, 10)]
    recipes = args.recipes or list(RECIPES)
    res = {}
    for _round in range(args.rounds):  # interleave recipes so slow drifts hit them alike
        for cfg in configs:
            for recipe in recipes:
                wait_for_idle(0.15, 30)
                t, faults = time_recipe(*cfg, recipe, args.steps, 3)
                key = (cfg, recipe)
                res[key] = min(res.get(key, (math.inf, 0)), (t, faults))
    if args.compile:
        for cfg in configs:
            t0 = time.perf_counter()
            t, faults = time_recipe(*cfg, None, args.steps, 3, compiled=True)
            res[(cfg, "fused+pregather+compile")] = (t, faults)
            print(f"  compile {cfg}: {time.perf_counter() - t0:.0f} s including compilation", flush=True)
    for cfg in configs:
        base = res[(cfg, "baseline")][0]
        print(f"{cfg[0]} d={cfg[1]} S={cfg[2]}")
        for (c, recipe), (t, faults) in res.items():
            if c == cfg:
                print(f"   {recipe:26} {1e3 * t:8.2f} ms/step  {base / t:5.2f}x   {faults:7.0f} page faults/step")


def cmd_eval(args):
    for arch, d, S in [("deep", 200, 1), ("deep", 1000, 1), ("canonical", 200, 1), ("canonical", 200, 10)]:
        model, _, _, x_test, gens = setup(arch, d, S, {})
        for name, fn, samples in [
            ("encode per sample", full_pass_per_sample, 1),
            ("full_pass", full_pass, 1),
            ("encode per sample 10", full_pass_per_sample, 10),
            ("full_pass 10", full_pass, 10),
        ]:
            wait_for_idle(0.15, 30)
            fn(model, x_test, gens, samples)
            best = math.inf
            for _ in range(3):
                t = time.perf_counter()
                fn(model, x_test, gens, samples)
                best = min(best, time.perf_counter() - t)
            print(f"{arch} d={d} S={S} {name:20} {1e3 * best:8.1f} ms")
        # same numbers? fresh generators with the same state for both
        g1 = [torch.Generator().manual_seed(7 + i) for i in range(S)]
        g2 = [torch.Generator().manual_seed(7 + i) for i in range(S)]
        a, b = full_pass(model, x_test, g1, 3), full_pass_per_sample(model, x_test, g2, 3)
        print(f"   identical losses: {(a['loss'] == b['loss']).all()}")


def train_k(arch, d, seeds, steps, recipe, compiled=False):
    from bvae.training.networks import build
    from bvae.training.train import seed_generators

    epoch, adam_kwargs = RECIPES[recipe] if not compiled else (None, {"fused": True})
    init_gens, run_gens = zip(*(seed_generators(s) for s in seeds), strict=True)
    model = build(TrainSettings(arch=arch), d, init_gens)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=ADAM_EPS, **adam_kwargs)
    if compiled:
        epoch = make_compiled_epoch(model)
    _, _, x, _, _ = make_model(arch, "vanilla", d, 1)
    losses = [epoch(model, opt, x[: steps * BATCH + 37], run_gens, BATCH) for _ in range(2)]
    return model, torch.stack(losses)


def cmd_exact(args):
    """Bit-identity of each recipe: to the baseline, and for seed 5 alone vs inside a stack [2, 5, 9]."""
    for arch, d in [("canonical", 200), ("deep", 200)]:
        ref_model, ref_loss = train_k(arch, d, [5], args.steps, "baseline")
        for recipe in list(RECIPES) + (["compile"] if args.compile else []):
            compiled = recipe == "compile"
            r = "baseline" if compiled else recipe
            alone, loss_a = train_k(arch, d, [5], args.steps, r, compiled)
            stacked, loss_s = train_k(arch, d, [2, 5, 9], args.steps, r, compiled)
            pairs = list(zip(alone.parameters(), ref_model.parameters(), strict=True))
            same_as_base = all(torch.equal(p, q) for p, q in pairs)
            diff = max((p - q).abs().max().item() for p, q in pairs)
            stack_ok = all(
                torch.equal(p[0], q[1]) for p, q in zip(alone.parameters(), stacked.parameters(), strict=True)
            )
            print(
                f"{arch} d={d} {recipe:18} identical to baseline: {same_as_base!s:5} (max |dw| {diff:.1e});"
                f" seed alone == seed in stack: {stack_ok and torch.equal(loss_a[:, 0], loss_s[:, 1])}"
            )


def cmd_stack(args):
    for recipe in args.recipes or ["baseline", "fused+pregather"]:
        base = None
        for S in [1, 10, 20, 50, 100]:
            wait_for_idle(0.15, 30)
            t, _ = time_recipe("canonical", 200, S, recipe, args.steps, 3)
            sps = S * BATCH / t
            base = base or sps
            print(
                f"canonical d=200 {recipe:16} S={S:3d}: {1e3 * t:7.2f} ms/step {sps:9.0f} samples/s {sps / base:5.2f}x",
                flush=True,
            )


def cmd_denormal(args):
    """Epoch time early and late in a real training, with denormals kept and flushed (bvae.training.train flushes them).

    Fresh models (what the step benchmarks time) hold no denormals; Adam's moments of dead units decay into them
    after a few dozen epochs, and every element-wise op on them is several times slower.
    """
    from bvae.data.simulate import SimSettings, simulate
    from bvae.training.train import TrainSettings, train_seeds

    data = simulate(SimSettings(d=200, N=5000))
    settings = TrainSettings(arch="deep", epochs=args.epochs, mc_samples=1, threads=args.threads)
    real = torch.set_flush_denormal
    for flush in (False, True):
        with mock.patch.object(torch, "set_flush_denormal", lambda _mode, flush=flush: real(flush)):
            seconds = train_seeds(data, settings, [0], progress=False)[0].history["seconds"]
        print(
            f"flush_denormal={flush!s:5}: epochs 1-5 {seconds[:5].mean():.3f} s, "
            f"epochs {args.epochs - 4}-{args.epochs} {seconds[-5:].mean():.3f} s per epoch",
            flush=True,
        )


def cmd_kernels(args):
    """One deep training (d = 200, N = 5000, `--epochs` 20, seed 0, both variants) per kernel: how far the final
    losses of kernels that differ by fp32 rounding drift apart over a real training (tests/test_train.py asserts
    a bound on it), and where bf16 lands."""
    from bvae.data.simulate import SimSettings, simulate
    from bvae.training.kernels import BF16, available
    from bvae.training.train import TrainSettings, train_seeds

    data = simulate(SimSettings(d=200, N=5000))
    for variant in ("vanilla", "preinit"):
        ref = None
        for kernel in [*available(), "bf16"]:
            choice = {"precision": "bf16"} if kernel == "bf16" else {"kernel": kernel}
            settings = TrainSettings(arch="deep", variant=variant, epochs=args.epochs, threads=args.threads, **choice)
            f = train_seeds(data, settings, [0], progress=False)[0].final
            ref = ref or f
            rel = [abs(f[key] / ref[key] - 1) for key in ("final_train_loss", "final_test_loss")]
            print(
                f"{variant:8} {f['kernel_used']:14} final train loss {f['final_train_loss']:.7g},"
                f" test {f['final_test_loss']:.7g}, {f['active_units']} active units; relative to torch's:"
                f" {rel[0]:.1e}, {rel[1]:.1e}" + (" (bf16: not fp32 rounding)" if f["kernel_used"] in BF16 else ""),
                flush=True,
            )


AGAINST = {"bf16": {"precision": "bf16"}, "onednn": {"kernel": "onednn"}, "numpy": {"kernel": "numpy"}}


def cmd_precision(args):
    """The method's settings on the calibration's cheap cells (N = 100, every d of `--d`, the architectures of
    `--arch`, both variants, seeds 0..`--seeds`-1 stacked as in config/protocols.yaml), fp32 on torch's kernel against
    `--against` (bf16, or another fp32 kernel: how far rounding alone moves a 300-epoch training), the same seeds:
    pct per cell, and whether each cell still agrees with the paper (bvae.report.comparison). Writes
    bench/results/n100-fp32-vs-<against>.json."""
    import json

    import pandas as pd

    from bvae.data.simulate import SimSettings, simulate
    from bvae.report.comparison import compare
    from bvae.training.train import TrainSettings, train_seeds

    other, runs = args.against, []
    for d in args.d:
        data = simulate(SimSettings(d=d, N=100))
        for arch in args.arch:
            for variant in ("vanilla", "preinit"):
                for name, change in (("fp32", {"kernel": "torch"}), (other, AGAINST[other])):
                    settings = TrainSettings(arch=arch, variant=variant, **change)
                    t = time.perf_counter()
                    results = train_seeds(data, settings, list(range(args.seeds)), progress=False)
                    runs += [{**r.final, "protocol": name} for r in results]
                    print(f"  d={d} {arch} {variant} {name}: {time.perf_counter() - t:.0f} s", flush=True)
    runs = pd.DataFrame(runs)
    keys = ["d", "arch", "variant", "seed"]
    both = runs[runs.protocol == "fp32"].merge(runs[runs.protocol == other], on=keys, suffixes=("_fp32", "_other"))
    cells = []
    for (d, arch, variant), g in both.groupby(["d", "arch", "variant"]):
        cell = dict(d=int(d), arch=arch, variant=variant, seeds=len(g))
        for split in ("train", "test"):
            a, b = g[f"pct_{split}_fp32"], g[f"pct_{split}_other"]
            cell |= {f"{split}_fp32_mean": a.mean(), f"{split}_{other}_mean": b.mean(), f"{split}_fp32_std": a.std(),
                     f"{split}_diff": b.mean() - a.mean(), f"{split}_max_seed_diff": (b - a).abs().max()}  # fmt: skip
        cell["collapsed_fp32"] = int((g["active_units_fp32"] == 0).sum())
        cell[f"collapsed_{other}"] = int((g["active_units_other"] == 0).sum())
        cells.append(cell)
    cells = pd.DataFrame(cells)
    agreement = compare(runs.assign(dataset="d" + runs["d"].astype(str) + "_N100"))
    agree = agreement.pivot_table(index=["table", "variant"], columns="protocol", values="agree").reset_index()
    pd.set_option("display.width", 250)
    print(cells.round(3).to_string(index=False))
    changed = agree[agree["fp32"] != agree[other]]
    print(f"paper cells agreeing: fp32 {int(agree['fp32'].sum())}, {other} {int(agree[other].sum())} of {len(agree)};"
          f" changed: {changed.to_dict('records')}")  # fmt: skip
    out = Path(__file__).parent / "results" / f"n100-fp32-vs-{other}.json"
    out.write_text(json.dumps({"cells": cells.to_dict("records"), "agreement": agree.to_dict("records"),
                               "runs": runs.to_dict("records")}, indent=1, default=str) + "\n")  # fmt: skip
    print(f"wrote {out}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["step", "eval", "exact", "stack", "denormal", "kernels", "precision"])
    parser.add_argument("--epochs", type=int, help="denormal: 45, kernels: 20")
    parser.add_argument("--d", type=int, nargs="+", default=[200], help="precision: the N = 100 datasets")
    parser.add_argument("--seeds", type=int, default=10, help="precision: seeds per cell")
    parser.add_argument("--arch", nargs="+", default=["deep", "canonical"], help="precision: architectures")
    parser.add_argument("--against", default="bf16", choices=list(AGAINST), help="precision: what fp32 is set against")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--recipes", nargs="+")
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    args.epochs = args.epochs or (20 if args.what == "kernels" else 45)
    torch.set_num_threads(args.threads)
    {
        "step": cmd_step,
        "eval": cmd_eval,
        "exact": cmd_exact,
        "stack": cmd_stack,
        "denormal": cmd_denormal,
        "kernels": cmd_kernels,
        "precision": cmd_precision,
    }[args.what](args)


if __name__ == "__main__":
    main()
