"""Write docs/synth_contact_sheet.png: 16 synthetic infants with their infant22 skeletons.

Run: ``python benchmarks/synth_contact_sheet.py [--out docs/synth_contact_sheet.png]``.
Eight "home", four "nicu" and four "studio" samples at random phone/NICU framings; filled dots
are visible keypoints, rings hidden ones; orange = left, blue = right.
"""

from __future__ import annotations

import argparse


def main() -> None:
    from infantpose.io.images import write_image
    from infantpose.synth import render_sample
    from infantpose.synth.sheet import contact_sheet, draw_skeleton

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="docs/synth_contact_sheet.png")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--cell", type=int, default=300)
    args = ap.parse_args()
    tiles = []
    for i, style in enumerate(["home"] * 8 + ["nicu"] * 4 + ["studio"] * 4):
        s = render_sample(args.seed, i, "infant22", size=None, style=style)
        tiles.append(draw_skeleton(s.image, s.keypoints, s.visibility, "infant22"))
    write_image(args.out, contact_sheet(tiles, cols=4, cell=args.cell))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
