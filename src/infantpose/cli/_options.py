"""The options every command shares, so one idea has one name, one short flag and one help text.

Conventions (issue 12):

- ``--out/-o`` the output (folder or file); ``--schema/-s``; ``--model/-m``; ``--weights/-w``;
  ``--quiet/-q`` turns off progress bars; ``--overwrite`` replaces files infantpose did not
  write (inputs never).
- ``--deidentify [mosaic|blur]`` always means: hide the infant's face in every image or video the
  command writes, and drop facial keypoints from pose outputs.
- Choices are ``Choice`` Enums, so ``--help`` lists them, Typer rejects anything else with one
  line, and the chosen member is a plain ``str`` to the code below.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import typer

__all__ = ["Choice", "SchemaName", "DeidMode", "Preset", "SynthStyle", "OVERWRITE_HELP",
           "QUIET_HELP", "out_option", "schema_option", "model_option", "weights_option",
           "quiet_option", "overwrite_option", "deidentify_option", "drop_facial_option",
           "mirror_test_option", "seed_option", "value"]

OVERWRITE_HELP = ("Replace existing output files that infantpose did not write (inputs are "
                  "never replaced).")
QUIET_HELP = "No progress bar."
MODEL_HELP = ("Pose model: movenet (default; MoveNet Thunder), movenet-lightning, "
              "blazepose-heavy (installed by make install / `infantpose models fetch`), "
              "blazepose (in the mediapipe wheel), blazepose-torch, pose-resnet, onnx (a "
              "runtime, not a network: runs your own --weights MODEL.onnx on onnxruntime), or a "
              "factory package.module:function; with --weights alone, the model the checkpoint "
              "holds.")
WEIGHTS_HELP = ("A checkpoint (runs/x/model.pt from `infantpose train`, or model.onnx); it "
                "selects its own model.")
DEIDENTIFY_HELP = ("Hide the infant's face (mosaic or blur) in every image and video written "
                   "(frames with no placeable face are blurred whole), and drop facial "
                   "keypoints from the pose outputs.")


class Choice(str, Enum):
    """An Enum whose members are their own string values (``str()`` and f-strings included),
    as ``enum.StrEnum`` of Python 3.11 is."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class SchemaName(Choice):
    """Keypoint schemas (see ``infantpose schemas``)."""

    coco17 = "coco17"
    infant22 = "infant22"
    blazepose33 = "blazepose33"


class DeidMode(Choice):
    """How faces are hidden."""

    mosaic = "mosaic"
    blur = "blur"


class Preset(Choice):
    """Training budgets: quick (about 10 minutes on 2 CPU cores) or full."""

    quick = "quick"
    full = "full"


class SynthStyle(Choice):
    """Scene styles of synthetic infants (``infantpose.synth.STYLES``): photo is home fitted to
    real infant photos."""

    home = "home"
    nicu = "nicu"
    studio = "studio"
    photo = "photo"


def value(choice: Any) -> Any:
    """The plain value of an Enum choice (None and plain values pass through)."""
    return choice.value if isinstance(choice, Enum) else choice


def out_option(help: str = "Output folder (created if needed).", required: bool = True) -> Any:
    return typer.Option(... if required else None, "--out", "-o", help=help)


def schema_option(default: str | None = "coco17", help: str = "Keypoint schema.") -> Any:
    return typer.Option(SchemaName(default) if default else None, "--schema", "-s",
                        help=help, case_sensitive=False)


def model_option(default: str | None = None, help: str = MODEL_HELP) -> Any:
    return typer.Option(default, "--model", "-m", help=help)


def weights_option(help: str = WEIGHTS_HELP) -> Any:
    return typer.Option(None, "--weights", "-w", help=help)


def quiet_option() -> Any:
    return typer.Option(False, "--quiet", "-q", help=QUIET_HELP)


def overwrite_option() -> Any:
    return typer.Option(False, "--overwrite", help=OVERWRITE_HELP)


def deidentify_option(help: str = DEIDENTIFY_HELP) -> Any:
    return typer.Option(None, "--deidentify", help=help, case_sensitive=False)


def drop_facial_option(help: str = "Drop facial keypoints from the pose outputs (implied by "
                                   "--deidentify).") -> Any:
    return typer.Option(False, "--drop-facial-keypoints", help=help)


class PoseFormat(Choice):
    """Pose files of a video (``infantpose.io.posefiles.POSE_FORMATS``): json (infantpose Poses),
    csv (tidy table), slp (SLEAP), nwb (NWB ndx-pose), movement (netCDF), dlc (DeepLabCut
    predictions CSV)."""

    json = "json"
    csv = "csv"
    slp = "slp"
    nwb = "nwb"
    movement = "movement"
    dlc = "dlc"


MIRROR_TEST_HELP = ("Also predict each image's mirror image and combine the two poses (models "
                    "movenet, blazepose, blazepose-heavy; about twice the time; COCO AP +0.02 "
                    "to +0.03 on real infant photos). Default: on for images, off for videos.")


def mirror_test_option(help: str = MIRROR_TEST_HELP) -> Any:
    """``--mirror-test/--no-mirror-test``: None (the model's default) unless given."""
    return typer.Option(None, "--mirror-test/--no-mirror-test", help=help)


# --- NWB metadata (``--format nwb`` / ``convert --to nwb``) ----------------------------------------
def subject_id_option() -> Any:
    return typer.Option(None, "--subject-id", help="NWB: the infant's study code (never a name; "
                                                   "default 'unknown').")


def subject_age_option() -> Any:
    return typer.Option(None, "--subject-age",
                        help="NWB: the infant's age as an ISO 8601 duration, e.g. P12W (12 "
                             "weeks), P3M10D, or a range P10W/P14W (default P0D/: unknown).")


def subject_sex_option() -> Any:
    return typer.Option(None, "--subject-sex", help="NWB: M, F, O (other) or U (unknown, the "
                                                    "default).")


def session_description_option() -> Any:
    return typer.Option(None, "--session-description",
                        help="NWB: what the session was (default: 'infantpose keypoints of "
                             "<video name>').")


def experimenter_option() -> Any:
    return typer.Option(None, "--experimenter", help="NWB: who recorded or analysed the session, "
                                                     "'Last, First' (repeatable).")


def institution_option() -> Any:
    return typer.Option(None, "--institution", help="NWB: where the session took place.")


def nwb_metadata(subject_id: str | None, subject_age: str | None, subject_sex: str | None,
                 session_description: str | None, experimenter: list[str] | None,
                 institution: str | None) -> dict[str, Any]:
    """The NWB options given on the command line, checked (see
    :class:`infantpose.io.nwb.NwbInfo`); an empty dict when none was given."""
    from infantpose.io.nwb import NwbInfo

    given = {k: v for k, v in {"subject_id": subject_id, "subject_age": subject_age,
                               "subject_sex": subject_sex,
                               "session_description": session_description,
                               "experimenter": list(experimenter or []) or None,
                               "institution": institution}.items() if v is not None}
    if not given:
        return {}
    info = NwbInfo.from_dict(given)
    return {k: getattr(info, k) for k in given}


#: The largest random seed (every random generator infantpose seeds accepts 0..2**32-1).
MAX_SEED = 2**32 - 1


def seed_option(default: int | None = 0, help: str = "Random seed.") -> Any:
    """``--seed``: a whole number in 0..2**32-1 (a negative seed is refused with one line)."""
    return typer.Option(default, "--seed", help=help, min=0, max=MAX_SEED)
