"""``infantpose schemas``: list the keypoint schemas and how they map onto each other."""

from __future__ import annotations

from typing import Optional

import typer

from infantpose.cli import app
from infantpose.cli._options import SchemaName, value


@app.command("schemas")
def schemas_cmd(
    name: Optional[SchemaName] = typer.Argument(
        None, help="Show one schema in detail (keypoints, mappings).", case_sensitive=False),
) -> None:
    """List keypoint schemas and their keypoints; with NAME, also what other schemas provide."""
    from rich.console import Console
    from rich.table import Table

    from infantpose.pipelines.schemas import list_schemas, schema_detail

    console = Console()
    if name is None:
        table = Table(title="Keypoint schemas")
        table.add_column("schema")
        table.add_column("K", justify="right")
        table.add_column("keypoints")
        for s in list_schemas():
            table.add_row(s.name, str(s.num_keypoints), ", ".join(s.keypoints))
        console.print(table)
        return
    detail = schema_detail(value(name))
    s = detail.schema
    console.print(f"[bold]{s.name}[/bold]: {s.description}")
    table = Table()
    table.add_column("#", justify="right")
    table.add_column("keypoint")
    table.add_column("region")
    table.add_column("sigma", justify="right")
    for other in detail.sources:
        table.add_column(f"from {other}")
    for i, k in enumerate(s.keypoints):
        row = [str(i), k, s.regions[i], f"{s.sigmas[i]:.3f}"]
        for sources in detail.sources.values():
            src = sources[i]
            row.append("+".join(src) if src else "[dim]missing[/dim]")
        table.add_row(*row)
    console.print(table)
