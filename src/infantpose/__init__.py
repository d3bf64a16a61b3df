"""infantpose: infant pose estimation and movement analysis on a laptop CPU, with small data.

One line each from Python::

    import infantpose as ip
    model = ip.PoseModel("heavy", schema="coco17")      # or "blazepose", "movenet", "runs/x/model.pt"
    poses = model("photo.jpg")                           # a one-frame Poses
    video = ip.predict_video("visit.mp4", model)         # every frame, the infant followed
    ip.save_poses(video, "visit.slp")                    # format from the extension
"""

from infantpose.api import (PoseModel, load_labels, load_poses, predict_video, save_labels,
                            save_poses)
from infantpose.poses import Poses
from infantpose.schemas import BLAZEPOSE33, COCO17, INFANT22, Schema, get_schema

__version__ = "0.1.0"
__all__ = ["Poses", "Schema", "get_schema", "COCO17", "INFANT22", "BLAZEPOSE33", "PoseModel",
           "predict_video", "load_poses", "save_poses", "load_labels", "save_labels",
           "__version__"]
