"""Poses along a sequence of frames, on SO(3) (rotations) and R^3 (translations).

`interpolation` (exact SLERP / lerp between keyframes), `smoothing` (a robust
forward-backward smoother of raw per-frame proposals), `linking` (one track per
face across frames), `spikes` (angular velocity and where it jumps) and
`labels` (the pose of every frame: keyframe | interpolated | smoothed_proposal).
Plain numpy; poses follow POSE_CONVENTIONS.md (X_cam = R X_head + t, mm)."""
