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

    from infantpose.schemas import SCHEMAS, get_mapping, get_schema
    from infantpose.errors import InfantPoseError

    console = Console()
    if name is None:
        table = Table(title="Keypoint schemas")
        table.add_column("schema")
        table.add_column("K", justify="right")
        table.add_column("keypoints")
        for s in SCHEMAS.values():
            table.add_row(s.name, str(s.num_keypoints), ", ".join(s.keypoints))
        console.print(table)
        return
    s = get_schema(value(name))
    console.print(f"[bold]{s.name}[/bold]: {s.description}")
    table = Table()
    table.add_column("#", justify="right")
    table.add_column("keypoint")
    table.add_column("region")
    table.add_column("sigma", justify="right")
    others = [o for o in SCHEMAS.values() if o.name != s.name]
    maps = {}
    for o in others:
        try:
            maps[o.name] = get_mapping(o, s)
        except InfantPoseError:
            continue
        table.add_column(f"from {o.name}")
    for i, k in enumerate(s.keypoints):
        row = [str(i), k, s.regions[i], f"{s.sigmas[i]:.3f}"]
        for m in maps.values():
            src = m.sources[i]
            row.append("+".join(src) if src else "[dim]missing[/dim]")
        table.add_row(*row)
    console.print(table)
