"""Progress of a training by epoch: a tqdm bar in a terminal, a plain line every half minute in a log file.

`for epoch in EpochProgress(...)` walks the epochs; the loop body reports its numbers with `set_postfix` and the
progress is shown when the body is done, so the epoch count and the numbers always belong together. (tqdm's own
iterator writes its count back only every `mininterval`, so a postfix set inside the loop was shown next to a stale
count: "0/5 0%" while the loss moved, then a jump to 100 %.) A Snakemake log file is no terminal: there, carriage
returns would pile up into one endless line that `tail -f` never shows, so it gets one flushed line per report
with the epoch, the speed and the time left.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from tqdm import tqdm


class EpochProgress:
    """Epochs `start` … `total − 1`, each reported when its loop body has finished (nothing if not `enabled`)."""

    log_seconds = 30.0  # a log line at most this often, plus one for the first and the last epoch
    bar_seconds = 0.5  # terminal refresh interval

    def __init__(
        self,
        desc: str,
        start: int,
        total: int,
        enabled: bool = True,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.desc, self.start, self.total, self.enabled = desc, start, total, enabled
        self.stream = stream if stream is not None else sys.stderr  # read now: log_to() may have redirected it
        self.clock = clock
        self.postfix: dict[str, object] = {}

    def set_postfix(self, **values) -> None:
        """The numbers shown with the epoch that is running (e.g. its loss)."""
        self.postfix = values

    def __iter__(self) -> Iterator[int]:
        epochs = range(self.start, self.total)
        if not self.enabled:
            yield from epochs
        elif self.stream.isatty():
            yield from self._bar(epochs)
        else:
            yield from self._lines(epochs)

    def _bar(self, epochs: range) -> Iterator[int]:
        bar = tqdm(
            desc=self.desc, total=self.total, initial=self.start, unit="epoch", file=self.stream,
            mininterval=self.bar_seconds, dynamic_ncols=True,
        )  # fmt: skip
        with bar:
            for epoch in epochs:
                yield epoch
                bar.set_postfix(self.postfix, refresh=False)
                bar.update()  # redraws with the count and the postfix of the epoch just done

    def _lines(self, epochs: range) -> Iterator[int]:
        began = last = self.clock()
        for epoch in epochs:
            yield epoch
            now, done = self.clock(), epoch + 1
            if done in (self.start + 1, self.total) or now - last >= self.log_seconds:
                self.stream.write(self.line(done, (now - began) / (done - self.start), now - began) + "\n")
                self.stream.flush()  # a log file is block-buffered: without this `tail -f` shows nothing for minutes
                last = now

    def line(self, done: int, per_epoch: float, elapsed: float) -> str:
        """One self-contained log line, e.g. `… epoch 12/300 (4%), 1.52 s/epoch, elapsed 00:18, ETA 07:18, loss=…`."""
        eta = tqdm.format_interval(per_epoch * (self.total - done))
        numbers = "".join(f", {key}={value}" for key, value in self.postfix.items())
        return (
            f"{self.desc}: epoch {done}/{self.total} ({100 * done // self.total}%), {per_epoch:.2f} s/epoch, "
            f"elapsed {tqdm.format_interval(elapsed)}, ETA {eta}{numbers}"
        )
