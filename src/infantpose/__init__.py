"""infantpose: infant pose estimation and movement analysis on a laptop CPU, with small data."""

from infantpose.poses import Poses
from infantpose.schemas import BLAZEPOSE33, COCO17, INFANT22, Schema, get_schema

__version__ = "0.1.0"
__all__ = ["Poses", "Schema", "get_schema", "COCO17", "INFANT22", "BLAZEPOSE33", "__version__"]
