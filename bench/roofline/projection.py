"""The study projection: what a study's trainings cost on this machine, from the 1-thread measurements.

The study is read with the package's own config reader (`bvae.study.config.check_config`, which fills in the
schema's defaults, the shipped protocols included) and planned as the workflow plans it: its simulated datasets,
seeds per architecture and seeds per job (`bvae.study.plan.simulated`), and per protocol and architecture the
complete training settings (`bvae.study.plan.protocol_settings`): a canonical network under `calibrated` trains its
protocol's 50 epochs, not the top level's 300.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml
from bench.roofline.measure import N_TEST, TABLE_D

from bvae.study.config import check_config
from bvae.study.plan import protocol_architectures, protocol_settings, simulated

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def read_study(path: Path) -> dict:
    """What the projection needs of a study config: its simulated datasets (d, N, seeds and seeds per job per
    architecture), variants, test fraction and, per protocol and architecture, the training settings.

    Raises:
        bvae.errors.ConfigError: the config fails a check of the workflow's (one line naming the key).
    """
    config = yaml.safe_load(path.read_text()) or {}
    check_config(config, SCHEMA, [path])
    protocols = {
        name: {arch: protocol_settings(config, name, arch) for arch in protocol_architectures(config, name)}
        for name in config["protocols"]
    }
    return dict(
        datasets=simulated(config),
        variants=list(config["variants"]),
        architectures=[a for a in ("deep", "canonical") if any(a in p for p in protocols.values())],
        test_fraction=config["simulation"]["test_fraction"],
        protocols=protocols,
    )


def grid_d(grid: dict) -> list[int]:
    return sorted({entry["d"] for entry in grid["datasets"].values()})


def configured_stacks(grid: dict, arch: str) -> set[int]:
    """The seeds per job that the study's datasets configure for `arch`."""
    return {entry["seeds_per_job"].get(arch, 1) for entry in grid["datasets"].values()}


def mc_samples(grid: dict, arch: str) -> int:
    """The most Monte Carlo samples of a final pass among the protocols training `arch` (the one measured)."""
    return max(p[arch]["mc_samples"] for p in grid["protocols"].values() if arch in p)


def plan_configs(threads_list: list[int], grid: dict, stacks: list[int], projection: bool) -> list[tuple]:
    """(arch, d, S, threads): the table's configurations, plus at 1 thread every (arch, d) of the study grid."""
    plan = []
    for threads in threads_list:
        for arch in ("deep", "canonical"):
            in_grid = threads == 1 and projection and arch in grid["architectures"]
            ds = set(TABLE_D) | (set(grid_d(grid)) if in_grid else set())
            for d in sorted(ds):
                sizes = {1}
                if arch == "canonical" and (d == 200 or threads == 1):
                    sizes |= set(stacks)
                if in_grid:
                    sizes |= configured_stacks(grid, arch) | (set(stacks) if arch == "canonical" else set())
                plan += [(arch, d, S, threads) for S in sorted(sizes)]
    return plan


def stacking(results: list[dict], threads_list: list[int]) -> list[dict]:
    """Canonical samples per second by seeds per stacked model, per d of the table and thread count."""
    stack = []
    for threads in threads_list:
        for d in TABLE_D:
            rs = {
                r["S"]: r["samples_per_s"]
                for r in results
                if r["arch"] == "canonical" and r["d"] == d and r["threads"] == threads
            }
            if 1 in rs and len(rs) > 1:
                others = {S: v for S, v in sorted(rs.items()) if S != 1}
                ratio = {S: v / rs[1] for S, v in others.items()}
                stack.append(dict(d=d, threads=threads, samples_per_s_S1=rs[1], by_S=others, ratio=ratio))
    return stack


def _stack_size(choice: int | dict | None, entry: dict, arch: str) -> int:
    """Seeds per job of one dataset: the dataset's configured ones (`choice` None), one size, or one per d."""
    if choice is None:
        return entry["seeds_per_job"].get(arch, 1)
    return choice if isinstance(choice, int) else choice[entry["d"]]


def project(grid: dict, results: list[dict], stack_choice: dict, kernel: str, cores: int = 28) -> dict:
    """Core-hours of the whole study from the 1-thread measurements, `stack_choice[arch]` seeds per job (None: as
    configured, an int, or a dict d -> S), on torch's kernel (`kernel` torch) or the chosen one (chosen, whose
    trainings also spend the time of the choice). Each protocol's trainings take its own epochs, batch size, final
    Monte Carlo samples and checkpoint interval."""
    by_key = {(r["arch"], r["d"], r["S"]): r for r in results if r["threads"] == 1}
    rows, total, adam_bytes, trainings = [], 0.0, 0.0, 0
    for protocol, per_arch in grid["protocols"].items():
        for arch, s in per_arch.items():
            for name, entry in grid["datasets"].items():
                d, N, seeds = entry["d"], entry["N"], entry["seeds"][arch]
                S = _stack_size(stack_choice.get(arch), entry, arch)
                r = by_key[(arch, d, S)]
                used = r["kernel"] if kernel == "chosen" else "torch"
                t = r["by_kernel"][used]
                n_test = int(round(grid["test_fraction"] * N))
                n_train = N - n_test
                steps = math.ceil(n_train / s["batch_size"])
                epoch = t["step_s"] * steps + t["test_pass_s"] * n_test / N_TEST
                one_pass = t["test_pass_s"] + (s["mc_samples"] - 1) * (t["pass_extra_sample_s"] or 0.0)
                final = one_pass * (n_train + n_test) / N_TEST  # mc_samples passes over train and test
                saves = (s["epochs"] - 1) // s["checkpoint_every"] * (r["checkpoint_save_s"] or 0.0)
                job = s["epochs"] * epoch + final + saves + (r["choose_s"] if kernel == "chosen" else 0.0)
                jobs = len(grid["variants"]) * math.ceil(seeds / S)
                total += jobs * job
                trainings += len(grid["variants"]) * seeds
                adam_bytes += jobs * s["epochs"] * steps * r["adam_bytes"]
                rows.append(
                    dict(protocol=protocol, arch=arch, dataset=name, d=d, N=N, n_train=n_train, n_test=n_test, S=S,
                         kernel=used, epochs=s["epochs"], steps_per_epoch=steps, epoch_s=epoch, job_s=job, jobs=jobs,
                         core_hours=jobs * job / 3600)
                )  # fmt: skip
    return dict(
        stack=stack_choice,
        kernel=kernel,
        trainings=trainings,
        core_hours=total / 3600,
        cores=cores,
        wall_hours=total / 3600 / cores,
        adam_GBps_per_job=adam_bytes / total / 1e9,
        adam_GBps_all_cores=cores * adam_bytes / total / 1e9,
        rows=rows,
    )


def projections(grid: dict, results: list[dict], stacks: list[int]) -> list[dict]:
    """The configured stacking, every stack size for canonical and the fastest per d, on torch's kernel (the
    configured stacking only) and on the chosen one."""
    configured: dict = dict.fromkeys(grid["architectures"])
    choices = [configured] + [{**configured, "canonical": S} for S in stacks if "canonical" in configured]
    best = {  # the fastest measured stack size per (arch, d), in seed-samples per second
        arch: {
            d: max((r for r in results if r["threads"] == 1 and r["arch"] == arch and r["d"] == d),
                   key=lambda r: r["samples_per_s"])["S"]
            for d in grid_d(grid)
        }
        for arch in grid["architectures"]
    }  # fmt: skip
    choices.append(best)
    return [project(grid, results, configured, "torch")] + [project(grid, results, c, "chosen") for c in choices]
