"""The ``xtutor`` command line: ``xtutor lab`` and ``xtutor run CONFIG``."""

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


@app.command()
def lab(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/lab"),
    seed: Annotated[int, typer.Option(help="seed for data, model and training")] = 0,
    preset: Annotated[str, typer.Option(
        help="'default', 'ci' (smaller) or 'tiny' (a smoke test)")] = "default",
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="override a setting, e.g. --set mlm.steps=300 (repeatable)")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bars")] = False,
) -> None:
    """Pretrain a toy multilingual encoder, measure retrieval and zero-shot NLI transfer."""
    from xtutor.lab import LabConfig, run_lab

    try:
        cfg = LabConfig.preset(preset, seed=seed).override(**_parse_sets(set_ or []))
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    try:
        res = run_lab(cfg, out, show_progress=not quiet)
    except ValueError as e:  # bad sizes found while running: say which, without a traceback
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    typer.echo(res.summary)
    typer.echo(f"wrote {out / 'results.jsonl'} ({len(res.records)} records) and "
               f"{len(res.figures)} figures in {res.seconds:.0f} s")


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="experiment config (YAML)")],
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/run"),
    quiet: Annotated[bool, typer.Option(help="no progress bars")] = False,
) -> None:
    """Run the experiment described by a YAML config and write its records."""
    from xtutor.runner import run_config

    try:
        records = run_config(config, out, show_progress=not quiet)
    except (FileNotFoundError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    typer.echo(f"wrote {out / 'results.jsonl'} ({len(records)} records)")


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
