"""AI-human co-labelling in the browser (AH-CoLT, seed ``003_``, made a web page).

The model proposes keypoints; a person accepts them or corrects the wrong ones on a local web
page. A *project* is a folder with a SQLite database (:mod:`infantpose.io.label_store`), the frames
taken from videos and the images the page shows (face blurred). Modules:

* :mod:`~infantpose.label.sources` and :mod:`~infantpose.label.queues`: which frames to label
  (uniform, k-means, most uncertain, temporal jumps), each with its reason;
* :mod:`~infantpose.label.build`: create a project (proposals, blurred display images);
* :mod:`~infantpose.label.app` and :mod:`~infantpose.label.server`: the FastAPI app and uvicorn;
* :mod:`~infantpose.label.export`: COCO / LabelMe export (the project read as labels is
  :mod:`infantpose.io.label_project`);
* :mod:`~infantpose.label.stats`: reviewed frames, accepted share, corrections, time.

Only the standard library is imported here; FastAPI and uvicorn load when a server starts.
"""

from infantpose.io.label_store import DB_NAME, Store, is_project

__all__ = ["DB_NAME", "Store", "is_project"]
