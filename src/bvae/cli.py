"""The `bvae` command: the bound, the latent-size decision support and (pre-initialised) training for a 0/1 file.

Every error the package raises on purpose (`BvaeError`) becomes `bvae: error: <one line>` on stderr and exit code 2,
without a traceback, and before anything is written.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bvae import __version__
from bvae.errors import BvaeError, OutputError, tell
from bvae.model.architectures import ARCHITECTURES, VARIANTS
from bvae.model.protocols import DEFAULT, PROTOCOLS
from bvae.model.settings import PROPERTIES, add_options, from_args
from bvae.report.calibration import SEEDS
from bvae.study.plan import protocol_settings

DESCRIPTION = """\
The ELBO lower bound of the Bernoulli VAE for your own 0/1 data (Parquet, CSV, .npy or .npz).

Workflow: `bvae bound FILE` gives the training/test bound and the eigenvalue counts that suggest a latent size \
LATENT_DIM; `bvae train FILE --variant preinit --latent-dim LATENT_DIM --out DIR` trains a VAE whose decoder output \
layer and encoder heads start at the bound's optimum, under the study's default settings, and plots its loss against \
the bound; `bvae example digits digits.parquet` writes a ready-made example file. "method §N" is a section of \
docs/method.md in the repository."""
WIDTH = 120  # help text, option lists and the command list wrap alike, at most this wide


class HelpFormatter(argparse.HelpFormatter):
    """argparse's layout at one width for every part (the terminal's, at most WIDTH); a description keeps its
    paragraphs, each filled to that width."""

    def __init__(self, prog):
        super().__init__(prog, width=min(WIDTH, shutil.get_terminal_size().columns), max_help_position=32)

    def _fill_text(self, text, width, indent):
        paragraphs = text.split("\n\n")
        return "\n\n".join(textwrap.fill(" ".join(p.split()), width, initial_indent=indent,
                                         subsequent_indent=indent) for p in paragraphs)  # fmt: skip


SEED_PAIRS = [f"{n}={s}" for n, s in SEEDS.items()]  # `bvae calibration --seeds` default
N_LEADING = 10  # eigenvalues printed by `bvae bound`


class StoreOnce(argparse.Action):
    """argparse's store, but an option given twice, or under two of its names, is an error: argparse would keep the
    last value without a word."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = namespace.__dict__.setdefault("_given", {})  # dest -> the option string that set it
        if self.dest in given:
            earlier = "given twice" if given[self.dest] == option_string else f"conflicts with {given[self.dest]}"
            parser.error(f"argument {option_string}: {earlier}; give it once")
        given[self.dest] = option_string
        setattr(namespace, self.dest, values)


class Parser(argparse.ArgumentParser):
    """An argument parser (and its subcommands' parsers) whose options store their value once (`StoreOnce`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register("action", None, StoreOnce)


def path(text: str) -> Path:
    """An argparse type: a path, but not an empty one, which Path would read as the current directory."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; expected a file or directory name")
    return Path(text)


def counting(text: str) -> int:
    """An argparse type: a whole number from 1 (an epoch), not 0 or less, which would select nothing."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}; expected a whole number from 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}; expected a whole number from 1")
    return value


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=path, help="0/1 matrix, rows are observations: .parquet, .csv, .npy or .npz")
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=0.33,
        metavar="F",
        help="fraction of rows drawn at random for the test split when the file gives no split (default: 0.33)",
    )
    parser.add_argument(
        "--split-seed",
        type=int,
        default=0,
        metavar="S",
        help="seed of the random train/test split (default: 0)",
    )
    parser.add_argument(
        "--split-column",
        default="split",
        metavar="NAME",
        help="Parquet/CSV column with values train/test that gives the split; it is not a data column "
        "(default: split, used if the file has it; another name must be a column; an .npz with arrays 'train' "
        "and 'test' is split as given)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="bvae", description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}", help="print the version")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser = functools.partial(sub.add_parser, formatter_class=HelpFormatter)  # type: ignore[method-assign]

    bound = sub.add_parser(
        "bound",
        help="the training/test bound and the latent-size decision support of a 0/1 file",
        description="Fit the bound's optimum on the training split; print the training, test and strict test "
        "bound, the eigenvalues of the training covariance above 4 and above the Marchenko–Pastur edge (the "
        "suggested latent sizes) and the leading eigenvalues; for a simulated dataset of the project (its Parquet "
        "metadata records the generating settings) also the exact NLL of the generating model per split.",
    )
    _add_data_options(bound)
    # `--seed` is the training seed in `bvae train`; here it stays an undocumented alias of --split-seed (old usage)
    bound.add_argument("--seed", dest="split_seed", type=int, help=argparse.SUPPRESS)
    bound.add_argument(
        "--latent-dim", type=int, default=2, metavar="LATENT_DIM", help="latent size κ of the bound (default: 2)"
    )
    bound.add_argument("--scree", type=path, metavar="PNG", help="also write a scree plot of the eigenvalues here")
    bound.add_argument("--json", type=path, metavar="OUT.json", help="also write the printed numbers as JSON here")
    bound.set_defaults(func=_cmd_bound)

    train = sub.add_parser(
        "train",
        help="train a Bernoulli VAE (vanilla or pre-initialised at the bound's optimum) and plot it against the bound",
        description="Train one VAE on the training split and write DIR/history.parquet (per-epoch losses), "
        "DIR/final.parquet (final losses, bounds, pct deviations, active units) and DIR/loss.png. A checkpoint "
        "at DIR/checkpoint.pt lets an interrupted run resume when rerun with the same settings. DIR must hold none "
        "of these files (others are left alone) or hold this same training (then it resumes, or trains again); the "
        "results or the checkpoint of another training are replaced only with --force.\n\n" + _protocol_text(),
    )
    _add_data_options(train)
    train.add_argument("--arch", choices=list(ARCHITECTURES), default="deep", help="architecture (default: deep)")
    train.add_argument(
        "--variant",
        choices=list(VARIANTS),
        default="preinit",
        help="vanilla: random initialisation; preinit: decoder output layer and encoder heads set to the bound's "
        "optimum, hidden layers random (method §5; default: preinit)",
    )
    train.add_argument(
        "--protocol", choices=list(PROTOCOLS), default=DEFAULT,
        help=f"whose settings an option not given takes (default: {DEFAULT}, the study's; see above)",
    )  # fmt: skip
    add_options(train)  # one option per training setting (bvae/model/settings.schema.yaml)
    _mark_protocol_defaults(train)
    train.add_argument(
        "--seed", type=int, default=0, help="training seed: initialisation, shuffling and noise (default: 0)"
    )
    train.add_argument("--threads", type=int, default=1, metavar="T", help="PyTorch CPU threads (default: 1)")
    train.add_argument("--out", type=path, required=True, metavar="DIR", help="output directory")
    train.add_argument(
        "--force", action="store_true", help="replace the results or the checkpoint of another training in DIR"
    )
    train.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    train.set_defaults(func=_cmd_train)

    example = sub.add_parser(
        "example",
        help="write a ready-made example dataset",
        description="Write an example dataset in the dataset Parquet layout (bits plus a train/test `split` "
        "column). digits: scikit-learn's 1,797 handwritten 8×8 digits, pixel ≥ 8 of 16 → 1 (1,797 × 64). OUT "
        "must end in .parquet; an existing OUT is replaced only if it is this example.",
    )
    example.add_argument("name", choices=["digits"], help="which example")
    example.add_argument("out", type=path, metavar="OUT", help="output Parquet file")
    example.set_defaults(func=_cmd_example)

    calibration = sub.add_parser(
        "calibration",
        help="summarise a calibration study's runs against the paper's cells, and map the deep VAE's collapse",
        description="Compare every protocol's complete cells of a study (results/calibration for "
        "config/protocols.yaml) with the paper's published cells, also as read at earlier epochs from the "
        "histories, and print the summary as Markdown (docs/results/calibration-results.md is this output). Works "
        "on a study that is still running: only cells whose every seed finished are compared.",
    )
    calibration.add_argument("root", type=Path, help="the study's output root, e.g. results/calibration")
    calibration.add_argument(
        "--epoch", type=counting, nargs="+", default=[], metavar="E",
        help="also compare every protocol's cells at these epochs, read from the histories, as protocol name@E",
    )  # fmt: skip
    calibration.add_argument(
        "--seeds", nargs="+", default=SEED_PAIRS, metavar="N=S",
        help=f"seeds of a complete cell per N (default: {' '.join(SEED_PAIRS)}; other N: any)",
    )  # fmt: skip
    calibration.add_argument(
        "--protocols", nargs="+", default=[], metavar="NAME", help="summarise these protocols only (default: all)"
    )
    calibration.add_argument("--out", type=path, metavar="MD", help="write the summary here (.md) instead of stdout")
    _add_report_outputs(calibration)
    calibration.set_defaults(func=_cmd_calibration)

    archive = sub.add_parser(
        "archive",
        help="add a study's finished trainings to an archive, from which the study is rebuilt without training",
        description="Add every finished training under ROOT/runs (final record, per-epoch history, provenance; no "
        "checkpoints) to ARCHIVE, one Parquet pair per protocol, dataset, architecture and variant. A study whose "
        "config names the archive (archive: ARCHIVE) restores every training it holds with the same data, settings, "
        "seed and numerics version instead of training it. A training already archived is kept; a seed archived "
        "with other settings is replaced only with --replace.",
    )
    archive.add_argument("root", type=path, help="the study's output root, e.g. results/reference")
    archive.add_argument("archive", type=path, help="the archive folder, e.g. reference")
    archive.add_argument("--replace", action="store_true", help="replace archived seeds trained with other settings")
    archive.set_defaults(func=_cmd_archive)

    answer = sub.add_parser(
        "answer",
        help="the reference run's answer from its archive: agreement with the paper, claims, collapse",
        description="Compare the archived trainings of ARCHIVE with the paper's cells and decide the paper's claims "
        "on them, with no training and no workflow (the datasets are made again from their recorded definitions), "
        "and print README's answer block. README's block between <!-- answer:begin --> and <!-- answer:end --> is "
        "this output; --readme writes it there.",
    )
    answer.add_argument("archive", type=path, help="the archive folder, e.g. reference")
    answer.add_argument("--readme", type=path, metavar="MD", help="replace the answer block of this README")
    answer.add_argument("--out", type=path, metavar="MD", help="also write the full summary here (.md)")
    _add_report_outputs(answer)
    answer.set_defaults(func=_cmd_answer)
    return parser


def _add_report_outputs(command: argparse.ArgumentParser) -> None:
    """The figures and claims report that `calibration` and `answer` draw from the cells they compare."""
    command.add_argument("--figure", type=path, metavar="PNG", help="also draw the collapse map here")
    command.add_argument(
        "--comparison", type=path, metavar="PNG", help="also draw the comparison figure of the compared cells here"
    )
    command.add_argument(
        "--claims", type=path, metavar="MD",
        help="also decide the paper's claims on the same cells and write the report here (as the rule claims does)",
    )  # fmt: skip


def _protocol_text() -> str:
    """How `bvae train` picks its settings, for its --help."""
    return (f"Settings: an option not given takes its value under --protocol. {DEFAULT} (the default) is what the "
            "study trains (docs/calibration.md says why); spec is the method's settings exactly "
            "(method §5-6). An option whose value differs between them shows each.")  # fmt: skip


def _mark_protocol_defaults(parser: argparse.ArgumentParser) -> None:
    """A setting that some protocol changes shows its value per protocol and architecture instead of one default."""
    resolved = {name: {arch: protocol_settings({"protocols": PROTOCOLS}, name, arch) for arch in ARCHITECTURES}
                for name in PROTOCOLS}  # fmt: skip
    for action in (a for a in parser._actions if a.dest in PROPERTIES):
        values = {name: {arch: s[action.dest] for arch, s in r.items()} for name, r in resolved.items()}
        if all(v == values[DEFAULT] for v in values.values()):
            continue
        per = [
            f"{name}: " + ", ".join(f"{_join_words(v)} {arch}" for arch, v in v.items()) for name, v in values.items()
        ]
        assert action.help is not None  # every training option has a help text (add_options)
        action.help = action.help[: action.help.rindex("(default: ")] + f"(default, {'; '.join(per)})"


def _join_words(value) -> str:
    return " ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def train_settings(args: argparse.Namespace):
    """The protocol's settings for the architecture, overridden by every setting option given on the command line."""
    given = getattr(args, "_given", {})  # StoreOnce's record of the options given
    values = {**protocol_settings({"protocols": PROTOCOLS}, args.protocol, args.arch),
              **{key: getattr(args, key) for key in PROPERTIES if key in given}}  # fmt: skip
    return from_args(argparse.Namespace(**values), arch=args.arch, variant=args.variant, threads=args.threads)


def load(args: argparse.Namespace):
    """The file's data, with its generating settings when it is a simulated dataset of the project (exact NLL)."""
    from bvae.data.binary import load_binary
    from bvae.model.likelihood import with_recorded_settings

    data = load_binary(
        args.file, split_column=args.split_column or None, test_fraction=args.test_fraction, seed=args.split_seed
    )
    _note_unused_split_options(args)
    return with_recorded_settings(data, args.file)


def _note_unused_split_options(args: argparse.Namespace) -> None:
    """One line when --test-fraction or --split-seed was given for a file that gives its own split: unused."""
    given = getattr(args, "_given", {})  # StoreOnce's record of the options given
    unused = [f"{given[dest]} {getattr(args, dest)}" for dest in ("test_fraction", "split_seed") if dest in given]
    if unused and (source := _split_of_file(args)):
        tell(f"{args.file}: the split comes from {source}; ignored: {', '.join(unused)}")


def _split_of_file(args: argparse.Namespace) -> str:
    """What in the (already loaded) file gives its split, as `load_binary` reads it; '' for a random split."""
    from bvae.data.binary import columns_of

    if args.split_column and args.split_column in (columns_of(args.file) or []):
        return f"its {args.split_column!r} column"
    if args.file.suffix.lower() == ".npz":
        with np.load(args.file) as arrays:
            return "its 'train' and 'test' arrays" if {"train", "test"} <= set(arrays.files) else ""
    return ""


def _bound_report(data, latent_dim: int):
    """The numbers `bvae bound` prints (the workflow's bounds.parquet row plus suggestions), and the support."""
    from bvae.model.bound import check_latent_dim
    from bvae.model.decision import bound_summary, decision_support

    check_latent_dim(latent_dim, data.d)
    row, eigenvalues = bound_summary(data, latent_dim)
    support = decision_support(eigenvalues, data.n_train)
    return {
        **row,
        "threshold": support.threshold,
        "suggested_latent_dim": {"gt_4": max(support.n_eig_gt_4, 1), "gt_mp": max(support.n_eig_gt_mp, 1)},
        "leading_eigenvalues": eigenvalues[:N_LEADING].tolist(),
    }, support


def _exact_nll_lines(report: dict) -> str:
    """The exact NLL per split with its deviation from the split's bound, or "" without a generating model."""
    if report["nll_true_train"] is None:
        return ""
    lines = ["exact NLL of the generating model (no model beats it on fresh data in expectation):"]
    for split in ("train", "test"):
        nll, bound = report[f"nll_true_{split}"], report[f"bound_{split}"]
        lines.append(f"exact NLL {split:<9}{nll:.4f} nats  ({100 * (nll - bound) / bound:+.3f} % vs the {split} bound)")
    return "\n" + "\n".join(lines)


def _cmd_bound(args: argparse.Namespace) -> int:
    from bvae.io import check_outputs, check_suffix, write_text
    from bvae.plots.bound import scree

    check_outputs([args.file], [("--scree", args.scree), ("--json", args.json)])
    check_suffix(args.scree, ".png", "a PNG image")
    data = load(args)
    report, support = _bound_report(data, args.latent_dim)
    lead = ", ".join(f"{v:.3f}" for v in report["leading_eigenvalues"])
    print(
        f"dataset {data.name}: d = {data.d}, n_train = {data.n_train}, n_test = {data.n_test}, "
        f"latent_dim = {args.latent_dim}\n"
        f"bound train        {report['bound_train']:.4f} nats per row\n"
        f"bound test         {report['bound_test']:.4f} nats  (test data centred at their own mean)\n"
        f"bound test strict  {report['bound_test_strict']:.4f} nats  (test data centred at the training mean)\n"
        f"eigenvalues > 4          {report['n_eig_gt_4']}\n"
        f"eigenvalues > MP edge    {report['n_eig_gt_mp']}  "
        f"(edge 4(1+sqrt(d/(n_train-1)))^2 = {report['mp_edge']:.3f})\n"
        f"suggested latent size    {report['suggested_latent_dim']['gt_4']} (> 4, the paper), "
        f"{report['suggested_latent_dim']['gt_mp']} (> MP edge, noise-aware)\n"
        f"leading eigenvalues      {lead}" + _exact_nll_lines(report)
    )
    if args.scree:
        scree(support, f"{data.name} (d = {data.d}, n_train = {data.n_train})", args.scree)
        print(f"wrote {args.scree}")
    if args.json:
        write_text(json.dumps(report, indent=2) + "\n", args.json)
        print(f"wrote {args.json}")
    return 0


TRAIN_OUTPUTS = ("history.parquet", "final.parquet", "loss.png", "checkpoint.pt")  # what `bvae train` writes


def _cmd_train(args: argparse.Namespace) -> int:
    from bvae.io import Claim, check_output_dir, check_outputs
    from bvae.model.likelihood import exact_nll
    from bvae.plots.training import labelled_history, loss_development
    from bvae.training.results import train_and_write
    from bvae.training.train import check_training

    check_outputs([args.file], [("--out", args.out / name) for name in TRAIN_OUTPUTS])
    data = load(args)
    settings = train_settings(args)
    check_training(data, settings, [args.seed])  # before anything is written
    check_output_dir(args.out, TRAIN_OUTPUTS)
    started = time.perf_counter()
    with Claim([args.out]) as owner:  # a second training into DIR is refused until this one has written loss.png
        (result,) = train_and_write(
            data, settings, [args.seed], [args.out], args.out / "checkpoint.pt", progress=not args.no_progress,
            replace=args.force, outputs=("loss.png",), owner=owner,
        )  # fmt: skip
        final = result.final
        history = labelled_history(result.history, result.final)
        title = f"{data.name}: {settings.arch}, {settings.variant}, κ = {settings.latent_dim}"
        nll = exact_nll(data)  # None for data without a generating model: no exact-NLL lines
        nll_true = None if nll is None else (nll["nll_true_train"], nll["nll_true_test"])
        loss_development(history, final["bound_train"], final["bound_test"], title, args.out / "loss.png", nll_true)
    wall = time.perf_counter() - started
    print(
        f"dataset {data.name}: d = {data.d}, n_train = {data.n_train}, n_test = {data.n_test}; "
        f"{settings.arch} {settings.variant}, protocol {args.protocol}, latent_dim = {settings.latent_dim}, "
        f"seed = {args.seed}, "
        f"{settings.epochs} epochs in {wall:.1f} s\n"
        f"{'':6}{'final loss':>12}{'bound':>12}{'pct':>10}   (losses and bounds in nats per row)\n"
        f"{'train':6}{final['final_train_loss']:12.4f}{final['bound_train']:12.4f}{final['pct_train']:+9.3f}%\n"
        f"{'test':6}{final['final_test_loss']:12.4f}{final['bound_test']:12.4f}{final['pct_test']:+9.3f}%\n"
        f"strict test bound {final['bound_test_strict']:.4f}; "
        f"epochs to bound {_fmt_epoch(final['epochs_to_bound'])}, to 1 % {_fmt_epoch(final['epochs_to_1pct'])}; "
        f"active units {final['active_units']} of {settings.latent_dim}; final KL {final['final_kl']:.3f}\n"
        f"wrote {args.out / 'history.parquet'}, {args.out / 'final.parquet'}, {args.out / 'loss.png'}"
    )
    return 0


def _fmt_epoch(value) -> str:
    return "never" if value is None or pd.isna(value) else str(int(value))


def _cmd_example(args: argparse.Namespace) -> int:
    from bvae.data.binary import write_dataset
    from bvae.data.examples import EXAMPLES
    from bvae.io import check_suffix, read_metadata

    check_suffix(args.out, ".parquet", "Parquet")
    if args.out.exists() and not (args.out.is_file() and read_metadata(args.out).get("name") == args.name):
        raise OutputError(f"{args.out}: exists and is not the {args.name} example; remove it or choose another path")
    data = EXAMPLES[args.name]()
    write_dataset(data, args.out)
    ones = float(np.mean(np.vstack([data.train, data.test])))
    print(
        f"wrote {args.out}: {data.name}, {data.n} × {data.d} bits ({ones:.1%} ones), "
        f"n_train = {data.n_train}, n_test = {data.n_test}"
    )
    return 0


def _seeds_per_size(pairs: list[str]) -> dict[int, int]:
    """`N=S` pairs -> {N: S}, each N once, N and S from 1."""
    from bvae.errors import ConfigError

    sizes: dict[int, int] = {}
    for pair in pairs:
        n, _, s = pair.partition("=")
        try:
            size, seeds = int(n), int(s)
        except ValueError:
            size = seeds = 0
        if min(size, seeds) < 1 or size in sizes:
            raise ConfigError(f"--seeds {pair}; expected pairs N=S of whole numbers from 1, each N once, e.g. 100=10")
        sizes[size] = seeds
    return sizes


def _check_epochs(epochs: list[int], runs: pd.DataFrame) -> None:
    """ConfigError for an --epoch that no compared run reaches: it would add nothing, without a word."""
    from bvae.errors import ConfigError

    longest = int(runs["epochs"].max())
    for epoch in epochs:
        if epoch > longest:
            raise ConfigError(f"--epoch {epoch}: no compared run trains that long (the longest, {longest} epochs); "
                              "expected an epoch that a run reaches")  # fmt: skip


# Each output named for what it holds: none can take the name of a run's Parquet file that the summary reads.
CALIBRATION_OUTPUTS = {
    "out": (".md", "Markdown"),
    "figure": (".png", "a PNG image"),
    "comparison": (".png", "a PNG image"),
    "claims": (".md", "Markdown"),
}


def _cmd_calibration(args: argparse.Namespace) -> int:
    from bvae.io import check_outputs, check_suffix, write_text
    from bvae.report.calibration import calibration_markdown, summarise_calibration

    check_outputs([], [(f"--{name}", getattr(args, name)) for name in CALIBRATION_OUTPUTS])
    for name, (suffix, what) in CALIBRATION_OUTPUTS.items():
        check_suffix(getattr(args, name), suffix, what)
    per_size = _seeds_per_size(args.seeds)
    parts = summarise_calibration(args.root, per_size, args.epoch, args.protocols)
    _check_epochs(args.epoch, parts["runs"])
    epochs = ["--epoch", *map(str, args.epoch)] if args.epoch else []
    protocols = ["--protocols", *args.protocols] if args.protocols else []
    seeds = ["--seeds", *args.seeds] if per_size != SEEDS else []
    command = " ".join(["bvae calibration", str(args.root), *epochs, *seeds, *protocols])
    text = calibration_markdown(args.root, parts, command)
    if args.out:
        write_text(text, args.out)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    _write_extras(args, parts, sys.stdout if args.out else sys.stderr)  # keep stdout for the summary if it goes there
    return 0


def _write_extras(args: argparse.Namespace, parts: dict, report) -> None:
    """The figures and the claims report that `--figure`, `--comparison` and `--claims` ask for."""
    from bvae.io import write_text
    from bvae.plots.collapse import collapse_map
    from bvae.plots.comparison import comparison_figure
    from bvae.report.calibration import decide_calibration_claims
    from bvae.report.claims import claims_markdown
    from bvae.report.fidelity import paper_collapse

    decided = lambda: parts["claims"] if "claims" in parts else decide_calibration_claims(args.root, parts)  # noqa: E731
    extras = [
        (args.figure, lambda path: collapse_map(parts["deep_runs"], paper_collapse(parts["deep_runs"]), path)),
        (args.comparison, lambda path: comparison_figure(parts["comparison"], path)),
        (args.claims, lambda path: write_text(claims_markdown(decided()), path)),
    ]
    for path, write in extras:
        if path:
            write(path)
            print(f"wrote {path}", file=report)


def _cmd_archive(args: argparse.Namespace) -> int:
    from bvae.study.archive import archive_root

    updates = archive_root(args.root, args.archive, args.replace)
    for update in updates:
        if update.added or update.differing:
            differing = f", kept {len(update.differing)} whose rerun differs" if update.differing else ""
            print(f"{update.cell}: added seeds {', '.join(map(str, update.added)) or 'none'}{differing}")
            for seed, how_far in update.differing.items():  # how far from its record, to judge the difference by
                print(f"  seed {seed}: the rerun differs from its record: {how_far}")
    added, present, kept = (sum(len(getattr(u, kind)) for u in updates) for kind in ("added", "present", "differing"))
    differ = f", {kept} kept whose rerun differs" if kept else ""
    print(f"{args.archive}: {added} trainings added, {present} already archived{differ}, in {len(updates)} cells")
    return 0


def _cmd_answer(args: argparse.Namespace) -> int:
    from bvae.io import check_outputs, check_suffix, write_text
    from bvae.report.answer import answer_parts, readme_block, with_block
    from bvae.report.calibration import calibration_markdown

    outputs = [(f"--{name}", getattr(args, name)) for name in CALIBRATION_OUTPUTS]
    check_outputs([args.readme] if args.readme else [], outputs)  # the README is read, and rewritten only in place
    for name, (suffix, what) in {**CALIBRATION_OUTPUTS, "readme": (".md", "Markdown")}.items():
        check_suffix(getattr(args, name), suffix, what)
    readme = _readme(args.readme) if args.readme else ""
    parts = answer_parts(args.archive)
    block = readme_block(parts, args.archive)
    if args.readme:
        write_text(with_block(readme, block), args.readme)
        print(f"wrote the answer into {args.readme}", file=sys.stderr)
    print(block)
    if args.out:
        write_text(calibration_markdown(args.archive, parts, f"bvae answer {args.archive}"), args.out)
    _write_extras(args, parts, sys.stderr)
    return 0


def _readme(path: Path) -> str:
    """The text of a README that holds the answer block's markers, once each and in order (checked before the answer
    is computed); a one-line DataError otherwise."""
    from bvae.errors import DataError
    from bvae.report.answer import MARK_BEGIN, MARK_END

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read ({one_line(exc)}); expected a README in UTF-8") from None
    begin, end = text.find(MARK_BEGIN), text.find(MARK_END)
    if text.count(MARK_BEGIN) != 1 or text.count(MARK_END) != 1 or end < begin:
        raise DataError(f"{path}: holds no answer block ({MARK_BEGIN} then {MARK_END}, each once); expected a README "
                        "with the block's two markers")  # fmt: skip
    return text


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BvaeError as exc:
        print(f"bvae: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader stopped (| head): end quietly, as a program killed by SIGPIPE does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own flush at exit would fail too
        return 128 + 13
    except OSError as exc:  # e.g. an output path that cannot be written
        print(f"bvae: error: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bvae: interrupted", file=sys.stderr)
        return 130


def one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
