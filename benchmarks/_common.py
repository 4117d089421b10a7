"""Shared parts of the benchmark scripts: load check, alternating timed passes, precision,
forward-pass counting, and the table of best / median times and ratios.

Each ``bench_*.py`` script compares xtutor with another library. They all:

1. check the machine's load before starting (:class:`LoadGuard`): when the 1-minute load
   average exceeds :data:`LOAD_PER_CORE` per core the script refuses to run (exit status
   :data:`EXIT_LOADED`) unless ``--allow-loaded`` is given, in which case the table and the
   summary line say ``LOADED MACHINE (...): timings not comparable``; the load is read again
   after the timed passes, less the benchmark's own share, and a high one marks the table too;
2. time ``--repeats`` passes of every side (:func:`run_alternating`) after one warm-up each,
   alternating the sides and reversing their order every repeat (A B, B A, A B, ...), print
   every pass, then the best and the median per side and the ratios of bests and of medians
   (:func:`print_table`);
3. run both libraries at the same precision (``--precision fp32|bf16|both``): xtutor through
   its ``precision=`` arguments, the other library inside ``torch.autocast`` with its model's
   outputs cast back to fp32, as xtutor does (:func:`other_precision`);
4. count forward passes (:class:`ForwardCounter`).

The scripts import this file as ``_common`` (Python puts the script's folder on ``sys.path``).

Example:
    >>> order = [[s for s in _pass_order(["a", "b"], r)] for r in range(3)]
    >>> order
    [['a', 'b'], ['b', 'a'], ['a', 'b']]
    >>> r = Result("x", "x", "fp32", times=[3.0, 1.0, 2.0])
    >>> r.best, r.median
    (1.0, 2.0)
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

#: Refuse to start when the 1-minute load average exceeds this much per core.
LOAD_PER_CORE = 0.5
#: Exit status of a script that refuses to run on a loaded machine.
EXIT_LOADED = 3
#: The precisions compared; ``--precision both`` runs them in this order.
PRECISIONS = ("fp32", "bf16")


# ------------------------------------------------------------------ command line
def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_common_arguments(ap: argparse.ArgumentParser, *, repeats: int = 5) -> None:
    """``--repeats``, ``--precision`` and ``--allow-loaded``, the same in every script."""
    ap.add_argument("--repeats", type=_at_least_one, default=repeats,
                    help=f"timed passes per side after one warm-up (default {repeats}, min 1)")
    ap.add_argument("--precision", choices=[*PRECISIONS, "both"], default="both",
                    help="precision of both libraries' forward passes: fp32, bf16 (autocast) "
                         "or both (default: both, in one run)")
    ap.add_argument("--allow-loaded", action="store_true",
                    help=f"run even when the 1-minute load average exceeds {LOAD_PER_CORE} "
                         f"per core; the table is then marked LOADED MACHINE")


def precisions(args: argparse.Namespace) -> list[str]:
    """The precisions asked for, in the order ``fp32``, ``bf16``."""
    return list(PRECISIONS) if args.precision == "both" else [args.precision]


# ------------------------------------------------------------------ load
class LoadGuard:
    """The load check: :meth:`before` at the start, :meth:`after` once the passes are done.

    After the run, what is compared is the CPU time other processes used during it, in cores:
    the machine's busy time from ``/proc/stat`` (user, nice, system, irq, softirq) less this
    process's own CPU time, over the wall time. (The 1-minute load average cannot tell the
    benchmark from the rest: it counts runnable threads, and a library that starts more threads
    than there are cores raised it to 2.8 on an idle 2-core machine.) Where ``/proc/stat`` is
    missing, the load average less the benchmark's own share (busy threads weighted by
    ``1 - exp(-seconds / 60)``) is used instead. CPU time stolen by the hypervisor is printed
    beside it.
    """

    def __init__(self, per_core: float = LOAD_PER_CORE) -> None:
        self.cores = os.cpu_count() or 1
        self.limit = per_core * self.cores
        self.per_core = per_core
        self.load_before: float | None = None
        self.load_after: float | None = None
        self.other_after: float | None = None
        self._t0 = time.perf_counter()
        self._cpu0 = time.process_time()
        self._stat0: tuple[float, float] | None = None

    def _fmt(self, loads: Sequence[float]) -> str:
        return ", ".join(f"{x:.2f}" for x in loads)

    def before(self, allow_loaded: bool) -> int | None:
        """Print the load; :data:`EXIT_LOADED` when it is too high and not allowed, else None."""
        loads = os.getloadavg()
        self.load_before = loads[0]
        self._t0, self._cpu0 = time.perf_counter(), time.process_time()
        self._stat0 = _cpu_seconds()
        print(f"load average before: {self._fmt(loads)} (1, 5, 15 min) on {self.cores} cores; "
              f"limit {self.per_core:.2f} per core = {self.limit:.2f} for the 1-minute figure",
              flush=True)
        if self.load_before > self.limit and not allow_loaded:
            print(f"refusing to run: the 1-minute load average {self.load_before:.2f} exceeds "
                  f"{self.per_core:.2f} per core ({self.limit:.2f} on {self.cores} cores), so "
                  f"the timings would not be comparable. Run it on an idle machine, or pass "
                  f"--allow-loaded to run anyway (the table is then marked LOADED MACHINE).",
                  file=sys.stderr, flush=True)
            return EXIT_LOADED
        if self.load_before > self.limit:
            print(f"--allow-loaded: running on a loaded machine; {self.banner()}", flush=True)
        return None

    def after(self) -> None:
        """Read and print the load after the passes, with the benchmark's own share taken out."""
        loads = os.getloadavg()
        wall = max(time.perf_counter() - self._t0, 1e-9)
        own = (time.process_time() - self._cpu0) / wall
        self.load_after = loads[0]
        stat1 = _cpu_seconds()
        if self._stat0 is not None and stat1 is not None:
            busy = stat1[0] - self._stat0[0]
            steal = (stat1[1] - self._stat0[1]) / wall
            self.other_after = max(0.0, (busy - own * wall) / wall)
            print(f"load average after: {self._fmt(loads)} (1, 5, 15 min); over {wall:.0f} s "
                  f"the machine was busy {busy / wall:.2f} cores on average, this benchmark "
                  f"{own:.2f}, so other processes used {self.other_after:.2f} cores (limit "
                  f"{self.limit:.2f}); stolen by the hypervisor: {steal:.2f} cores", flush=True)
            return
        share = own * (1.0 - math.exp(-wall / 60.0))
        self.other_after = max(0.0, loads[0] - share)
        print(f"load average after: {self._fmt(loads)} (1, 5, 15 min); this benchmark kept "
              f"{own:.2f} threads busy on average over {wall:.0f} s (about {share:.2f} of the "
              f"1-minute figure), so other load is about {self.other_after:.2f} "
              f"(limit {self.limit:.2f})", flush=True)

    @property
    def loaded(self) -> bool:
        """Whether the load before, or the other load after, exceeded the limit."""
        return any(x is not None and x > self.limit
                   for x in (self.load_before, self.other_after))

    def banner(self) -> str:
        """``LOADED MACHINE (load x.xx on n cores): timings not comparable``."""
        worst = max(x for x in (self.load_before, self.other_after, 0.0) if x is not None)
        return f"LOADED MACHINE (load {worst:.2f} on {self.cores} cores): timings not comparable"

    def status(self) -> str:
        """The banner when loaded, else a short note of the loads."""
        if self.loaded:
            return self.banner()
        after = "" if self.other_after is None else f", other load after {self.other_after:.2f}"
        return f"idle machine (load before {self.load_before or 0.0:.2f}{after} on " \
               f"{self.cores} cores)"


def _cpu_seconds() -> tuple[float, float] | None:
    """``(busy, steal)`` CPU seconds of the whole machine since boot, from ``/proc/stat``
    (busy: user + nice + system + irq + softirq); None where it cannot be read."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    ticks = [int(x) for x in fields[1:9]]
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq) / hz, steal / hz


# ------------------------------------------------------------------ precision
def _outputs_to_fp32(out: Any) -> Any:
    if isinstance(out, torch.Tensor):
        return out.float() if out.is_floating_point() and out.dtype != torch.float32 else out
    if isinstance(out, MutableMapping):  # a transformers ModelOutput: item and attribute
        for k in list(out.keys()):
            out[k] = _outputs_to_fp32(out[k])
        return out
    if isinstance(out, tuple) and not hasattr(out, "_fields"):
        return tuple(_outputs_to_fp32(x) for x in out)
    return out


@contextlib.contextmanager
def other_precision(precision: str, *modules: torch.nn.Module) -> Iterator[None]:
    """The other library's calls at ``precision``: nothing for ``fp32``; for ``bf16``
    ``torch.autocast("cpu", dtype=torch.bfloat16)`` with each of ``modules``' outputs cast
    back to fp32 (what xtutor's ``precision=`` does: every vector or logit it returns is fp32).

    Example:
        >>> lin = torch.nn.Linear(2, 2)
        >>> with other_precision("bf16", lin):
        ...     lin(torch.ones(1, 2)).dtype
        torch.float32
        >>> with other_precision("bf16"):
        ...     lin(torch.ones(1, 2)).dtype
        torch.bfloat16
    """
    if precision == "fp32":
        yield
        return
    if precision != "bf16":
        raise ValueError(f"precision must be fp32 or bf16, got {precision!r}")
    handles = [m.register_forward_hook(lambda _m, _i, out: _outputs_to_fp32(out))
               for m in modules]
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            yield
    finally:
        for h in handles:
            h.remove()


def bf16_note() -> str | None:
    """A warning when this CPU has no native bf16 arithmetic (bf16 is then emulated, slow)."""
    from xtutor.precision import cpu_has_bf16

    if cpu_has_bf16():
        return None
    return ("note: this CPU has no native bf16 instructions (AVX-512 BF16 / AMX); bf16 is "
            "emulated here and slower than fp32")


# ------------------------------------------------------------------ forward passes
class ForwardCounter:
    """Counts the outermost forward calls of the given modules, or (``class_suffix``) of any
    module whose class name ends with it (a global hook, for models built inside a library
    call); a call inside another counted call is not counted again.

    Example:
        >>> lin = torch.nn.Linear(2, 2)
        >>> with ForwardCounter(lin) as c:
        ...     _ = lin(torch.ones(1, 2)); _ = lin(torch.ones(1, 2))
        >>> c.count
        2
    """

    def __init__(self, *modules: torch.nn.Module, class_suffix: str | None = None) -> None:
        if not modules and class_suffix is None:
            raise ValueError("ForwardCounter needs modules or class_suffix")
        self.modules, self.class_suffix = modules, class_suffix
        self.count = 0
        self._depth = 0
        self._handles: list[Any] = []

    def _wanted(self, module: torch.nn.Module) -> bool:
        return self.class_suffix is None or type(module).__name__.endswith(self.class_suffix)

    def _pre(self, module: torch.nn.Module, _inputs: Any) -> None:
        if self._wanted(module):
            self._depth += 1
            self.count += self._depth == 1

    def _post(self, module: torch.nn.Module, _inputs: Any, _out: Any) -> None:
        if self._wanted(module):
            self._depth -= 1

    def reset(self) -> None:
        self.count = 0

    def __enter__(self) -> ForwardCounter:
        from torch.nn.modules import module as torch_module

        if self.class_suffix is not None:
            self._handles = [torch_module.register_module_forward_pre_hook(self._pre),
                             torch_module.register_module_forward_hook(self._post,
                                                                       always_call=True)]
        else:
            for m in self.modules:
                self._handles += [m.register_forward_pre_hook(self._pre),
                                  m.register_forward_hook(self._post, always_call=True)]
        return self

    def __exit__(self, *_exc: object) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


# ------------------------------------------------------------------ timed passes
@dataclass
class Measured:
    """What a pass may return instead of its plain output: the output, the seconds to count
    (default: the whole call) and named parts timed inside it (e.g. encoding)."""

    value: Any
    seconds: float | None = None
    parts: dict[str, float] = field(default_factory=dict)


@dataclass
class Side:
    """One library at one precision: ``run`` is one timed pass and returns its output.

    ``warmup`` (default ``run``) runs once before the timed passes; ``before`` runs untimed
    before every pass (clear caches, reset counters); ``counts`` is read after every pass
    (forward passes, queries, ...).
    """

    key: str
    label: str
    precision: str
    run: Callable[[], Any]
    warmup: Callable[[], Any] | None = None
    before: Callable[[], None] | None = None
    counts: Callable[[], dict[str, int]] | None = None


@dataclass
class Result:
    """A side's timed passes (seconds), their parts and counts, and its last output."""

    key: str
    label: str
    precision: str
    times: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)
    counts: list[dict[str, int]] = field(default_factory=list)
    output: Any = None

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def part(self, name: str | None, how: str = "best") -> float:
        """Best or median of the pass time (``name=None``) or of a named part."""
        values = self.times if name is None else self.parts[name]
        return min(values) if how == "best" else statistics.median(values)

    def count_text(self, key: str) -> str:
        """The count of ``key`` over the passes: one number, or ``lo-hi`` when it varied."""
        vals = [c[key] for c in self.counts if key in c]
        if not vals:
            return ""
        lo, hi = min(vals), max(vals)
        return f"{lo}" if lo == hi else f"{lo}-{hi}"


def _pass_order(sides: Sequence[Any], repeat: int) -> list[Any]:
    return list(sides) if repeat % 2 == 0 else list(sides)[::-1]


def _timed(side: Side, fn: Callable[[], Any]) -> tuple[float, Any, dict[str, float]]:
    if side.before is not None:
        side.before()
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    parts: dict[str, float] = {}
    if isinstance(out, Measured):
        seconds = out.seconds if out.seconds is not None else seconds
        parts, out = out.parts, out.value
    return seconds, out, parts


def run_alternating(sides: Sequence[Side], repeats: int) -> dict[str, Result]:
    """One warm-up per side, then ``repeats`` passes of every side, the order reversed every
    repeat (A B ..., then ... B A, ...); every pass is printed as it ends."""
    keys = [s.key for s in sides]
    if len(set(keys)) != len(keys):
        raise ValueError(f"side keys must be distinct, got {keys}")
    results = {s.key: Result(s.key, s.label, s.precision) for s in sides}
    for s in sides:
        seconds, _, _ = _timed(s, s.warmup or s.run)
        print(f"warm-up {s.label} ({s.precision}): {seconds:.3f} s", flush=True)
    for r in range(repeats):
        for s in _pass_order(sides, r):
            seconds, out, parts = _timed(s, s.run)
            res = results[s.key]
            res.times.append(seconds)
            res.output = out
            for name, v in parts.items():
                res.parts.setdefault(name, []).append(v)
            counts = s.counts() if s.counts is not None else {}
            res.counts.append(counts)
            extra = "".join(f", {k} {v:.3f} s" for k, v in parts.items())
            extra += "".join(f", {k} {v}" for k, v in counts.items())
            print(f"pass {r + 1}/{repeats} {s.label} ({s.precision}): {seconds:.3f} s{extra}",
                  flush=True)
    return results


# ------------------------------------------------------------------ ratios and table
@dataclass
class Ratio:
    """``numerator`` time / ``denominator`` time (above 1: the denominator is faster), of the
    pass times or of a named part."""

    label: str
    numerator: str
    denominator: str
    part: str | None = None

    def value(self, results: dict[str, Result], how: str) -> float:
        return (results[self.numerator].part(self.part, how)
                / results[self.denominator].part(self.part, how))


def library_ratios(other: str, other_label: str, precs: Sequence[str],
                   xtutor: str = "xtutor") -> list[Ratio]:
    """Other / xtutor at each precision, and each library's fp32 / bf16 (bf16 speed-up) when
    both precisions ran; keys are ``"{library}:{precision}"``."""
    out = [Ratio(f"{other_label} / xtutor, {p}", f"{other}:{p}", f"{xtutor}:{p}") for p in precs]
    if set(PRECISIONS) <= set(precs):
        out += [Ratio("xtutor fp32 / xtutor bf16", f"{xtutor}:fp32", f"{xtutor}:bf16"),
                Ratio(f"{other_label} fp32 / {other_label} bf16", f"{other}:fp32",
                      f"{other}:bf16")]
    return out


def _row(cells: Sequence[str], widths: Sequence[int], right: Sequence[bool]) -> str:
    return "| " + " | ".join(c.rjust(w) if r else c.ljust(w)
                             for c, w, r in zip(cells, widths, right, strict=True)) + " |"


def print_table(results: dict[str, Result], ratios: Sequence[Ratio], load: LoadGuard, *,
                extra: dict[str, dict[str, str]] | None = None,
                count_keys: Sequence[str] | None = None, title: str = "") -> None:
    """The markdown table: one row per side (best, median, ``extra`` columns, counts, every
    pass), then one row per ratio (of bests and of medians); marked when the machine was
    loaded."""
    extra = extra or {}
    extra_cols = list(dict.fromkeys(c for cols in extra.values() for c in cols))
    if count_keys is None:
        count_keys = list(dict.fromkeys(k for r in results.values() for c in r.counts
                                        for k in c))
    head = ["side", "precision", "best (s)", "median (s)", *extra_cols, *count_keys,
            "passes (s)"]
    right = [False, False, True, True, *([True] * (len(extra_cols) + len(count_keys))), False]
    rows = []
    for r in results.values():
        rows.append([r.label, r.precision, f"{r.best:.3f}", f"{r.median:.3f}",
                     *(extra.get(r.key, {}).get(c, "") for c in extra_cols),
                     *(r.count_text(k) for k in count_keys),
                     " ".join(f"{t:.2f}" for t in r.times)])
    for q in ratios:
        label = q.label if q.part is None else f"{q.label} ({q.part})"
        rows.append([f"ratio {label}", "", f"{q.value(results, 'best'):.2f}x",
                     f"{q.value(results, 'median'):.2f}x",
                     *([""] * (len(extra_cols) + len(count_keys))), ""])
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    print()
    if load.loaded:
        print(f"**{load.banner()}**")
    if title:
        print(title)
    print(_row(head, widths, right))
    print("| " + " | ".join(("-" * (w - 1) + ":") if r else "-" * w
                            for w, r in zip(widths, right, strict=True)) + " |")
    for row in rows:
        print(_row(row, widths, right))
    print()


def summary_line(results: dict[str, Result] | Sequence[dict[str, Result]],
                 ratios: Sequence[Ratio], load: LoadGuard, name: str) -> str:
    """One closing line: every ratio (best / median; the geometric mean when ``results`` is a
    list, one per seed) and the load status."""
    runs = [results] if isinstance(results, dict) else list(results)

    def value(q: Ratio, how: str) -> float:
        return statistics.geometric_mean(q.value(r, how) for r in runs)

    parts = [f"{q.label}{'' if q.part is None else f' ({q.part})'} "
             f"{value(q, 'best'):.2f}x best / {value(q, 'median'):.2f}x median" for q in ratios]
    over = f" (geometric mean over {len(runs)} runs)" if len(runs) > 1 else ""
    return f"summary {name}{over}: " + "; ".join(parts) + f" -- {load.status()}"
