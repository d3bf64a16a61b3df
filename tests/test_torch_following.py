"""A fine-tuned (landmark) model in a video follows the previous frame's pose, as MediaPipe
tracks: the mediapipe runtime runs on the first frame only, and the result stays on the infant."""

from __future__ import annotations

import numpy as np
import torch

torch.set_num_threads(1)


def test_landmark_model_follows_the_last_pose_in_video(tmp_path):
    from infantpose.models import create_estimator
    from infantpose.models.blazepose_landmarks import BlazePoseLandmarkNet
    from infantpose.models.checkpoint import save_checkpoint
    from infantpose.synth.clips import render_clip
    from infantpose.video.tracking import track_frames

    ck = save_checkpoint(tmp_path / "m.pt", BlazePoseLandmarkNet("coco17"), "coco17",
                         crop="upright", margin=1.4)
    frames, truth, _ = render_clip(5, 0.6, fps=10.0, schema="coco17", size=(320, 240),
                                   style="studio")
    est = create_estimator("blazepose-torch", schema="coco17", weights=str(ck))
    followed = track_frames(est, enumerate(frames), fps=10.0)
    calls_following = est._detector_est.calls
    # the previous pose was the tracker's: the estimator holds none
    assert not any(hasattr(est, a) for a in ("_last", "_following", "rotation_hint"))
    fresh = create_estimator("blazepose-torch", schema="coco17", weights=str(ck))
    boxes = []
    for i, f in enumerate(frames):  # the same boxes, each frame cropped from a runtime pass
        fresh.predict(f)
        boxes.append(fresh._detector_est.calls)
    assert calls_following < boxes[-1] / 2, (calls_following, boxes[-1])
    assert followed.meta["tracking"]["tracked"] >= len(frames) - 2
    # the followed keypoints stay on the infant: median error within 10 % of the body size
    xy, gt = followed.data[:, 0, :, :2], truth.data[:, 0, :, :2]
    size = np.hypot(*(np.nanmax(gt, 1) - np.nanmin(gt, 1)).T)
    err = np.linalg.norm(xy - gt, axis=-1) / size[:, None]
    assert np.nanmedian(err) < 0.1, np.nanmedian(err)
    # a photo after the video is not cropped on the video's last pose: as a fresh model does
    box = np.array([[0, 0, 320, 240]])
    np.testing.assert_allclose(est.predict(frames[-1], box).data,
                               fresh.predict(frames[-1], box).data)
