"""Training progress (bvae.training.progress): the shown epoch count moves with the numbers, in a terminal and in a log
file."""

import io
import re

from bvae.data.simulate import SimSettings, simulate
from bvae.training.progress import EpochProgress
from bvae.training.train import TrainSettings, seed_label, train_seeds


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    """A fake clock that each epoch's loop body advances by `step` seconds."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def run(progress: EpochProgress, clock: Clock | None = None, step: float = 0.0) -> None:
    for epoch in progress:
        if clock:
            clock.now += step
        progress.set_postfix(loss=f"{100 - epoch}.00")


def test_log_lines_every_half_minute_with_epoch_speed_and_time_left():
    log, clock = io.StringIO(), Clock()
    run(EpochProgress("job", 0, 20, stream=log, clock=clock), clock, step=7.0)
    lines = log.getvalue().splitlines()
    # the first epoch, then whenever 30 s have passed since the last line (every 5 epochs of 7 s), and the last
    assert [int(re.search(r"epoch (\d+)/20", line)[1]) for line in lines] == [1, 6, 11, 16, 20]
    assert lines[1] == "job: epoch 6/20 (30%), 7.00 s/epoch, elapsed 00:42, ETA 01:38, loss=95.00"
    assert lines[-1].endswith("ETA 00:00, loss=81.00")


def test_resumed_training_counts_from_its_checkpoint_and_times_only_its_own_epochs():
    log, clock = io.StringIO(), Clock()
    run(EpochProgress("job", 10, 12, stream=log, clock=clock), clock, step=2.0)
    assert log.getvalue().splitlines() == [
        "job: epoch 11/12 (91%), 2.00 s/epoch, elapsed 00:02, ETA 00:02, loss=90.00",
        "job: epoch 12/12 (100%), 2.00 s/epoch, elapsed 00:04, ETA 00:00, loss=89.00",
    ]


def test_terminal_bar_shows_each_loss_with_the_epoch_that_produced_it(monkeypatch):
    monkeypatch.setattr(EpochProgress, "bar_seconds", 0)  # redraw at every epoch
    screen = Terminal()
    run(EpochProgress("job", 0, 5, stream=screen))
    frames = [frame for frame in screen.getvalue().split("\r") if "loss=" in frame]
    shown = [(int(re.search(r"(\d)/5", f)[1]), int(re.search(r"loss=(\d+)", f)[1])) for f in frames]
    assert shown and all(loss == 100 - (count - 1) for count, loss in shown), shown
    assert shown[-1] == (5, 96) and "epoch" in frames[-1]


def test_disabled_progress_writes_nothing():
    out = Terminal()
    run(EpochProgress("job", 0, 3, enabled=False, stream=out))
    assert out.getvalue() == ""


def test_training_logs_a_line_per_epoch_to_a_log_file(monkeypatch, capsys):
    monkeypatch.setattr(EpochProgress, "log_seconds", 0)
    data = simulate(SimSettings(d=20, N=200, block=5, seed=1))
    settings = TrainSettings(arch="canonical", hidden=(8,), epochs=3, batch_size=50, mc_samples=1)
    train_seeds(data, settings, [0, 1])
    lines = capsys.readouterr().err.splitlines()  # pytest's captured stderr is no terminal, as a Snakemake log
    assert [line.split(": ")[1].split(" (")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    for line in lines:
        assert line.startswith(f"{data.name} canonical vanilla seeds 0-1: epoch ")
        assert re.search(r"\d+\.\d\d s/epoch, elapsed \d\d:\d\d, ETA \d\d:\d\d, loss=\d+\.\d\d, bound=\d+\.\d\d$", line)


def test_seeds_are_named_as_the_log_files_name_them():
    assert [seed_label(s) for s in ([0], [0, 1, 2], [2, 5, 9])] == ["seed 0", "seeds 0-2", "seeds 2, 5, 9"]
