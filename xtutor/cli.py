"""The ``xtutor`` command line: ``xtutor lab``, ``xtutor run CONFIG``, ``xtutor verify DIR``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="xtutor: multilingual alignment, robust transfer and attacks, measured.")


def _parse_sets(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _fail(e: Exception) -> typer.Exit:
    """One line on stderr, exit status 2 (bad input), no traceback."""
    typer.echo(f"error: {e}", err=True)
    return typer.Exit(2)


@app.command()
def lab(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/lab"),
    seed: Annotated[int, typer.Option(help="seed for data, model and training")] = 0,
    preset: Annotated[str, typer.Option(
        help="'ci' (the default: about 2 minutes), 'default' (a larger encoder) or 'tiny' "
             "(a smoke test)")] = "ci",
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="override a setting, e.g. --set mlm.steps=300 (repeatable)")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bars")] = False,
) -> None:
    """Pretrain a toy multilingual encoder, align a copy, fine-tune plain and robust: retrieval
    and zero-shot NLI, clean and under attack."""
    from xtutor.lab import LabSettings
    from xtutor.runner import run_experiment
    from xtutor.settings import check_settings

    try:
        s = check_settings(LabSettings, {"preset": preset, "seed": seed,
                                         "overrides": _parse_sets(set_ or [])}, source="--set")
        res = run_experiment("lab", s, out, show_progress=not quiet)
    except (ValueError, FileNotFoundError) as e:
        raise _fail(e) from e
    typer.echo((out / "summary.txt").read_text(encoding="utf-8"), nl=False)
    typer.echo(f"wrote {out / 'results.jsonl'} ({len(res.records)} records) and figures in "
               f"{res.seconds:.0f} s")


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="experiment config (YAML)")],
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/run"),
    shard: Annotated[str | None, typer.Option(
        help="run only share i of n of the cells (i/n, 0 <= i < n); a final run without "
             "--shard merges")] = None,
    cells: Annotated[str | None, typer.Option(
        help="run only the cells matching these comma-separated glob patterns, in pattern "
             "order (e.g. 'seed2__none__*,seed3__none__plain')")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bars")] = False,
) -> None:
    """Run (or resume) the experiment described by a YAML config and write its records."""
    from xtutor.runner import parse_shard, run_config

    try:
        select = [p.strip() for p in cells.split(",") if p.strip()] if cells else None
        res = run_config(config, out, shard=parse_shard(shard), show_progress=not quiet,
                         select=select)
    except (FileNotFoundError, ValueError) as e:
        raise _fail(e) from e
    if res.complete and shard is None and cells is None:
        typer.echo(f"wrote {out / 'results.jsonl'} ({len(res.records)} records; "
                   f"{len(res.computed)} cells computed, {len(res.reused)} reused)")
    else:
        part = f"shard {shard}" if shard else f"cells {cells}"
        typer.echo(f"{part}: {len(res.computed)} cells computed, {len(res.reused)} "
                   f"reused; {len(res.missing)} cells of the whole run still missing (run "
                   f"without --shard/--cells to finish and merge)")


@app.command()
def verify(
    ledger: Annotated[Path, typer.Argument(help="a finished run folder (data/ledgers/NAME)")],
    cells: Annotated[int | None, typer.Option(help="cells to recompute (default: all)")] = None,
    cell: Annotated[list[str] | None, typer.Option(
        help="recompute this cell (by name; repeatable) instead of a random sample")] = None,
    config: Annotated[Path | None, typer.Option(
        help="a run in progress (no config.json yet): the config it runs")] = None,
    seed: Annotated[int, typer.Option(help="seed of the random choice of cells")] = 0,
    tolerance: Annotated[float, typer.Option(
        help="largest |difference| accepted per value (0: exact)")] = 0.0,
    threads: Annotated[int | None, typer.Option(
        help="torch threads (default: the ledger's own, for bit-exact CPU results)")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bars")] = False,
) -> None:
    """Recompute a sample of a ledger's cells with the current code and compare every value."""
    from xtutor.runner import verify_ledger

    try:
        rep = verify_ledger(ledger, cells=cells, seed=seed, tolerance=tolerance,
                            show_progress=not quiet, threads=threads, config=config,
                            names=cell or None)
    except (FileNotFoundError, ValueError) as e:
        raise _fail(e) from e
    for line in rep.problems:
        typer.echo(f"mismatch: {line}")
    typer.echo(rep.summary())
    if not rep.ok:
        raise typer.Exit(1)


@app.command()
def version() -> None:
    """Print the xtutor version and git revision."""
    import xtutor
    from xtutor.reproducibility import git_revision

    typer.echo(f"xtutor {xtutor.__version__} ({git_revision()})")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="xtutor")


if __name__ == "__main__":
    sys.exit(main())
