"""BlazePose's landmark-only fallback: the landmark model run without the person detector.

Never missing an infant (issue 13): the person detector is the weak stage. BlazePose's detector
keys on a face and the line from hips to shoulders, which a newborn among blankets, a covered
face or a body filling the frame often do not show, while the landmark network, given a region,
still places the body. So when every detector attempt finds nobody, or only poses scoring
below ``min_score``, the *landmark model alone* is run through mediapipe's runtime on a given
region: the box (when one was given) and the whole frame, each at its four quarter turns, as
the torch path searches a box's quarter turns. The region is a square around it, letterboxed,
rotated by MediaPipe's own rotated-rectangle input (no image copy is rotated). Each turn is
re-run (``refine`` times, 2) on the region MediaPipe derives from its own previous landmarks
(what its tracker does from frame to frame), and the most confident turn is kept. Confidence
here is the landmark model's *pose presence* flag (the probability, learned by the landmark
network, that a person is in the region; the detector path gates on it at 0.5) times the mean
landmark visibility. A fallback pose is kept when its presence is at least
``min_presence`` (0.5, the gate of mediapipe's own landmark stage), so every frame with an
infant the landmark model recognises gets a pose, while blank frames and an empty crib do not
get an invented one. ``Poses.path`` says which path produced a pose (``"detector"`` or
``"fallback"``) and ``Poses.presence`` the presence score of fallback poses. In
``"video"`` mode a pose found by the fallback seeds the next frame's region, as MediaPipe's
tracking does, so a video the detector cannot see costs one landmark pass per frame.

Split out of ``models/blazepose.py``: :class:`FallbackSearch` holds the search's methods, which
:class:`~infantpose.models.blazepose.BlazePose` inherits; one landmark-only pass
(``BlazePose._landmarks_at``) stays there, beside the mediapipe graphs it runs.
"""

from __future__ import annotations

import numpy as np

from infantpose.geometry import Roi, quarter_turn_roi
from infantpose.models.blazepose_views import _Candidate, _score
from infantpose.models.tta import search_turns

__all__ = ["FallbackSearch"]


class FallbackSearch:
    """The landmark-only fallback of :class:`~infantpose.models.blazepose.BlazePose` (module
    docstring): refined passes on a region (:meth:`_refined`), the search over a box's and
    the whole frame's quarter turns (:meth:`_fallback_search`), and, in video mode, the last
    fallback pose's region carried to the next frame (:meth:`_carried`). It uses the
    estimator's settings (``refine``, ``rotations``, ``min_score``, ``min_presence``,
    ``box_margin``), its video state and its ``_landmarks_at`` pass."""

    def _refined(self, image: np.ndarray, roi: Roi, whole: bool) -> _Candidate | None:
        """The landmark model on ``roi``, then re-run ``refine`` times on the region MediaPipe
        derives from its own previous landmarks (as its tracker does from frame to frame); the
        last pass. (The last pass, not the most confident one: a first pass on a whole frame is
        often confidently wrong; on the real photos keeping the chain's most confident pass
        scored AP 0.39 against 0.45 for the last.)"""
        c = self._landmarks_at(image, roi, whole)
        for _ in range(self.refine):
            if c is None or c.next_roi is None:
                break
            nxt = self._landmarks_at(image, c.next_roi, whole)
            if nxt is None:
                break
            c = nxt
        return c

    def _fallback_search(self, image: np.ndarray, box: np.ndarray | None, hint: int | None
                         ) -> tuple[_Candidate | None, int]:
        """The landmark model without the detector: the box's square (when a box is given),
        then the whole frame, each at its quarter turns, each turn refined (:meth:`_refined`);
        the most confident result. A known orientation (rotation hint, previous frame) is tried
        alone first and kept when confident; the whole frame is skipped when the box already
        gave a confident pose (score at least ``min_score``, presence at least
        ``min_presence``)."""
        w, h = image.shape[1], image.shape[0]
        regions: list[tuple[tuple[float, float, float, float], float, bool]] = []
        if box is not None and np.isfinite(box).all() and box[2] > box[0] and box[3] > box[1]:
            regions.append((tuple(float(v) for v in box), 1 + 2 * self.box_margin, False))
        regions.append(((0.0, 0.0, float(w), float(h)), 1.0, True))
        order = self._order(hint) if self.rotations else self._order(hint)[:1]
        known = self._known_turn(hint)
        before = self.calls
        best: _Candidate | None = None
        turns = order if known is None else [known] + [r for r in order if r != known]
        for region, scale, whole in regions:
            # a known orientation is tried alone first and kept when confident
            found = search_turns(
                lambda rot: self._refined(image, quarter_turn_roi(region, rot, scale),
                                          whole),
                turns, _score, good=None if known is None else self._confident, greedy=False)
            if found.best is not None and (best is None or found.best.score > best.score):
                best = found.best
            if found.stopped or self._confident(best):
                break
        return best, self.calls - before

    def _confident(self, c: _Candidate | None) -> bool:
        return c is not None and c.score >= self.min_score and (c.presence or 0.0) >= \
            self.min_presence

    def _carried(self, image: np.ndarray) -> _Candidate | None:
        """Video mode: the last fallback pose's region on this frame, if it still holds a pose."""
        if self._carry is None:
            return None
        c = self._landmarks_at(image, self._carry, True)
        if not self._confident(c):
            self._carry = None
            return None
        c.tracked = True
        return c
