"""Roofline benchmark of bvae training: achieved speed against the machine's own measured limits.

Usage, from the repository root (with the project's venv)::

    python -m bench.roofline                       # full run, 1 and 2 threads, writes bench/results/<date>_<host>.json
    python -m bench.roofline --quick               # fewer steps and smaller probes (a few minutes)
    python -m bench.roofline --threads 1 --stack 1 10 --out bench/results/after.json
    taskset -c 0 python -m bench.roofline --threads 1   # pinned to one core, as the kernel table was measured
    python -m bench.roofline --variant preinit     # time the preinit models instead of vanilla
    python -m bench.roofline --adam fused          # what-if: force Adam(fused=True) (default: the package's choice,
                                                   # bvae.training.train.make_optimizer)
    python -m bench.profile_step                   # where the step time goes (torch.profiler), see that module

Measure on an otherwise idle machine: before each configuration the harness waits (``--idle 0.15 60``) until other
processes use under 15 % of the CPUs, re-measures a configuration (up to 3 times) if they got in the way, records
the share of the CPUs other processes used in the JSON, and warns. Two-thread timings in particular collapse when
another process shares the cores.

What it measures, for the deep and the canonical architecture at d = 200 and d = 1000 (train size 6,700,
batch 100, hidden 1024 1024, latent 2) and each thread count:

* **the machine**: CPU model and vendor, the instruction-set flags that decide which kernel is fast (AVX2, AVX-512,
  AVX512-BF16, AMX), torch's CPU capability, MKL and oneDNN versions, numpy's BLAS, whether torch's bf16 product
  runs on bf16 instructions, the CPUs this process may use (pin it with taskset).
* **the kernel table**: GFLOP/s of every matrix-product kernel at the deep network's two big shapes,
  forward and both backward products, all kernels taking turns in one run at the same thread count
  (`bvae.training.kernels.race`): torch's default (MKL on x86), oneDNN as training calls it
  (``torch.ops.mkldnn._linear_pointwise`` on plain tensors) and as first measured (``mkldnn_linear`` on
  mkldnn tensors, forward only), numpy's BLAS (limited to the same threads with threadpoolctl), torch's bf16
  product and the bf16 emulation that ``precision: bf16`` uses on CPUs without bf16 instructions.
* **the kernel choice**: `bvae.training.kernels.choose` at each configuration's products, as a training makes it (and
  how long it took), next to the harness's own longer measurement of every fp32 kernel at every product.
* **step / epoch time**, with torch's kernel and with the chosen one (every fp32 kernel for the single-seed models
  at d = 200 and 1000), the kernels' models taking turns repeat by repeat: `bvae.training.train.run_epoch` over K·batch
  rows (K steps, best repeat), scaled to the 67 steps of an epoch, plus the per-epoch test pass
  `bvae.training.train.full_pass` over 3,300 rows timed separately; samples per second (seed-samples: S seeds × rows,
  training steps only) and achieved GFLOP/s, counting 6 FLOPs per weight multiply-add per example (forward 2,
  backward 4) over every weight.
* **limits**: the fp32 matmul peak at the step's own products with the *best* fp32 kernel for each product (and,
  for comparison, torch's alone: the floor before the kernel choice), and the memory bandwidth of a stream triad
  ``a = b + s*c`` (torch.add(b, c, alpha=s, out=a)) over arrays far larger than the caches (STREAM convention:
  12 bytes per element). A cache-resident triad (arrays the size of one parameter set) is reported for information.
* **roofline floor per step** = the products autograd runs (forward, grad-input and grad-weight of every layer,
  except grad-input of the first encoder layer, which autograd skips because the data need no gradient), each at
  its best kernel's measured speed, + Adam's unavoidable traffic (params read+write, grads read, m read+write,
  v read+write = 28 bytes per parameter) at the triad bandwidth. "% floor" = floor / achieved step, for the chosen
  kernel's step. Where Adam's whole state fits in the last-level cache Adam can beat the DRAM triad and a step can
  come out slightly above 100 %; with 28 concurrent jobs on a 28-core node it cannot, which is why the DRAM figure
  is the floor.
* **stacking**: canonical samples/s with S seeds per stacked model for every S in ``--stack`` (ratio to S=1), at
  d = 200 for every thread count and at every d of the study grid at 1 thread (for the projection).
* **projection** of the full study in ``config.yaml`` (``--config`` another), read with the package's config reader
  and planned per protocol (`bench.roofline.projection`), with torch's kernel (as before the kernel choice) and with
  the chosen one: every (arch, d) of the grid is measured at 1 thread with the configured ``seeds_per_job`` (and,
  for canonical, every S in ``--stack``); a training's time = its protocol's epochs × (step time ×
  ceil(n_train / batch) + test pass × n_test / 3300) + the final ``mc_samples``-sample passes over train and test
  + the checkpoint saves + the kernel choice; core-hours = Σ jobs × job time; 28-core wall = core-hours / 28.
  Assumptions: perfect packing of one-thread jobs, each core as fast as one core here with no memory-bandwidth
  contention between the 28 jobs (optimistic: Adam is memory-bound), and process start-up, data loading and the
  bound fit excluded (seconds per job).

Everything goes to ``bench/results/<name>.json`` with the torch/numpy/python/bvae versions, thread counts and the
machine; a readable report goes to stdout. Speed is never asserted anywhere: this only reports.
"""
