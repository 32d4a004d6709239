"""The proposers' building blocks, shared by the proposer modules one level up and by the
benches and tools: face detection (detection.py, with FaceBoxes as its fallback in
faceboxes.py), crop rules (crops.py), the 6DoF landmark fit (landmark_fit.py) against the
project's reference face (reference_face.py, built by reference_build.py), the fusion of
several proposals (fusion.py) and its calibrated confidence (confidence.py), and the weights
files with their torch loading (weights.py).

None of these modules registers a proposer or imports base.py or a proposer module, so the
proposers depend on them and never the reverse. Importing this package is cheap: torch and
mediapipe load on first use."""
