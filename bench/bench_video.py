"""Video sequences: import, proposals and smoothing of a 1,000-frame 640x480
video (frames per second per stage, CPU), extract-at-import against
decode-on-demand, timeline playback in headless Chromium, and the keyframes
needed for every frame to be within 2 degrees of the truth on synthetic
sequences. Prints one JSON document.

Usage: python bench/bench_video.py [--frames 1000] [--proposal-frames 200]
       [--proposer landmarks-fit] [--playback-frames 300] [--parts import,keyframes,...]"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository

from bench._common import aflw_samples_dir, percentile, print_json
from bench._django import chromium_page, django_test_db

PARTS = ("import", "decode", "proposals", "smoothing", "playback", "keyframes")


def write_video(path: Path, n: int, fps: float = 25.0) -> Path:
    """n 640x480 frames panning slowly across the real AFLW2000 photos (no two alike)."""
    photos = [cv2.resize(cv2.imread(str(p)), (800, 600)) for p in sorted(aflw_samples_dir().glob("*.jpg"))]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    for i in range(n):
        photo = photos[(i // 50) % len(photos)]
        dx, dy = int(80 + 70 * np.sin(i / 15)), int(60 + 50 * np.cos(i / 20))
        writer.write(np.ascontiguousarray(photo[dy : dy + 480, dx : dx + 640]))
    writer.release()
    return path


def summary_ms(values) -> dict:
    return {
        "median_ms": round(statistics.median(values), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "max_ms": round(max(values), 2),
        "n": len(values),
    }


def bench_import(video: Path, n: int) -> tuple[dict, object]:
    from annotator.datasets import importing
    from annotator.models import Job, Sequence

    job = importing.create_import_job(kind=Job.Kind.IMPORT_VIDEO, dataset_name="bench-video", server_path=str(video))
    t0 = time.perf_counter()
    job = importing.run_import_job(job.pk)
    seconds = time.perf_counter() - t0
    sequence = Sequence.objects.get(dataset=job.dataset)
    return {
        "frames": job.succeeded,
        "errors": len(job.errors),
        "seconds": round(seconds, 2),
        "frames_per_second": round(job.succeeded / seconds, 1),
        "what": "OpenCV decode + JPEG q95 encode + storage + rows, one transaction per frame",
    }, sequence


def bench_decode(video: Path, sequence, samples: int = 100) -> dict:
    """The choice made (frames extracted at import, JPEG q95) against decoding
    on demand: what serving one random frame costs each way, and the disk."""
    rng = np.random.default_rng(0)
    frames = list(sequence.frames.order_by("frame_index"))
    picks = rng.integers(0, len(frames), samples)
    stored_ms = []
    for i in picks:
        t0 = time.perf_counter()
        with frames[i].file.open("rb") as fh:
            img = cv2.imdecode(np.frombuffer(fh.read(), np.uint8), cv2.IMREAD_COLOR)
        stored_ms.append((time.perf_counter() - t0) * 1000)
        assert img is not None
    seek_ms = []
    cap = cv2.VideoCapture(str(video))
    for i in picks:
        t0 = time.perf_counter()
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
        ok, img = cap.read()
        seek_ms.append((time.perf_counter() - t0) * 1000)
        assert ok
    cap.release()
    cap = cv2.VideoCapture(str(video))
    t0, n = time.perf_counter(), 0
    while cap.read()[0]:
        n += 1
    sequential_fps = n / (time.perf_counter() - t0)
    cap.release()
    return {
        "extract_at_import_read_one_frame": summary_ms(stored_ms),
        "decode_on_demand_seek_and_decode_one_frame": summary_ms(seek_ms),
        "sequential_decode_frames_per_second": round(sequential_fps, 1),
        "stored_jpeg_bytes_per_frame": int(np.mean([f.size_bytes for f in frames])),
        "video_bytes_per_frame": int(video.stat().st_size / len(frames)),
    }


def bench_proposals(sequence, proposer: str, n: int) -> dict:
    """The workers' own code (proposing.propose_images), in batches, in this process."""
    from annotator.proposals import services as proposing

    ids = list(sequence.frames.order_by("frame_index").values_list("pk", flat=True))[:n]
    proposing.get_proposer(proposer)  # load the model outside the timing, as a warm worker has
    t0 = time.perf_counter()
    found = 0
    for i in range(0, len(ids), proposing.BATCH_SIZE):
        found += proposing.propose_images(ids[i : i + proposing.BATCH_SIZE], proposer)["faces"]
    seconds = time.perf_counter() - t0
    return {
        "proposer": proposer,
        "frames": len(ids),
        "faces_found": found,
        "seconds": round(seconds, 2),
        "frames_per_second": round(len(ids) / seconds, 2),
        "batch_size": proposing.BATCH_SIZE,
        "torch_threads": int(os.environ.get("HEADPOSE_TORCH_THREADS", "1") or 1),
    }


def bench_smoothing(sequence) -> dict:
    from annotator.sequences.services import build_tracks
    from workers.core.tracking.smoothing import smooth_track
    from workers.core.tracking.synthetic import make_sequence

    n = sequence.frames.count()
    t0 = time.perf_counter()
    tracks = build_tracks(sequence.pk)
    stored = time.perf_counter() - t0
    synthetic = make_sequence(n=1000, seed=1)
    t0 = time.perf_counter()
    smooth_track(synthetic.proposals)
    core = time.perf_counter() - t0
    return {
        "build_tracks": {
            "frames": n,
            "tracks": len(tracks),
            "seconds": round(stored, 2),
            "frames_per_second": round(n / stored, 1),
            "what": "read proposals, link, smooth, store (annotator/sequences.py)",
        },
        "smooth_track_core_1000_frames": {"seconds": round(core, 3), "frames_per_second": round(1000 / core, 1)},
    }


def keyframes_needed(seed: int, n: int, tol_deg: float) -> dict:
    """Perfect keyframes (the truth) placed two ways until every frame is within
    tol_deg: at the worst frame first (greedy), and evenly every k frames (the
    largest k that works). Frames outside the keyframes follow the smoothed track."""
    from workers.core import geometry
    from workers.core.tracking.labels import frame_labels
    from workers.core.tracking.smoothing import smooth_track
    from workers.core.tracking.synthetic import make_sequence

    seq = make_sequence(n=n, seed=seed)
    track = smooth_track(seq.proposals)

    def errors(keys):
        labels = frame_labels(n, {k: (seq.truth_R[k], seq.truth_t[k]) for k in keys}, track)
        return geometry.geodesic_distance(np.stack([lab.R for lab in labels]), seq.truth_R)

    keys = set()
    err = errors(keys)
    while err.max() > tol_deg:
        keys.add(int(np.argmax(err)))
        err = errors(keys)
    greedy = len(keys)
    uniform = n
    for k in range(n - 1, 0, -1):
        ks = set(range(0, n, k)) | {n - 1}
        if errors(ks).max() <= tol_deg:
            uniform = len(ks)
            break
    return {
        "seed": seed,
        "greedy_worst_first": greedy,
        "uniform": uniform,
        "smoothed_track_max_error_deg": round(float(errors(set()).max()), 1),
    }


def smoother_quality(n: int = 250, seeds=range(100, 110)) -> dict:
    """Raw proposals (missing frames held) against the smoothed track, on
    synthetic sequences with seeds the tests do not use (the smoother's three
    constants were set once, not fitted)."""
    from workers.core import geometry
    from workers.core.tracking.smoothing import smooth_track
    from workers.core.tracking.synthetic import make_sequence

    rows = []
    for seed in seeds:
        seq = make_sequence(n=n, seed=seed)
        raw, last = [], seq.truth_R[0]
        for p in seq.proposals:
            last = p[0] if p is not None else last
            raw.append(last)
        raw = np.stack(raw)
        smoothed = smooth_track(seq.proposals).R
        rows.append(
            [
                geometry.geodesic_distance(raw[:-1], raw[1:]).mean(),
                geometry.geodesic_distance(smoothed[:-1], smoothed[1:]).mean(),
                geometry.geodesic_distance(raw, seq.truth_R).mean(),
                geometry.geodesic_distance(smoothed, seq.truth_R).mean(),
                geometry.geodesic_distance(smoothed, seq.truth_R).max(),
            ]
        )
    m = np.mean(rows, 0)
    return {
        "sequences": len(rows),
        "frames_each": n,
        "mean_frame_to_frame_change_deg": {
            "raw": round(m[0], 2),
            "smoothed": round(m[1], 2),
            "truth": round(
                float(
                    np.mean(
                        [
                            geometry.geodesic_distance(
                                make_sequence(n=n, seed=s).truth_R[:-1], make_sequence(n=n, seed=s).truth_R[1:]
                            ).mean()
                            for s in seeds
                        ]
                    )
                ),
                2,
            ),
        },
        "mean_error_to_truth_deg": {"raw": round(m[2], 2), "smoothed": round(m[3], 2)},
        "max_error_to_truth_deg_smoothed": round(float(np.max([r[4] for r in rows])), 2),
    }


def bench_keyframes(n: int = 250, tol_deg: float = 2.0, seeds=range(5)) -> dict:
    rows = [keyframes_needed(s, n, tol_deg) for s in seeds]
    return {
        "frames_per_sequence": n,
        "fps": 25,
        "tolerance_deg": tol_deg,
        "one_per_frame": n,
        "sequences": rows,
        "mean_greedy": round(float(np.mean([r["greedy_worst_first"] for r in rows])), 1),
        "mean_uniform": round(float(np.mean([r["uniform"] for r in rows])), 1),
        "synthetic": "yaw/pitch/roll sinusoids (30-60, 10-25, 8-20 deg amplitude, 0.1-0.4 Hz), 2 deg proposal "
        "noise, 5% blunders (40-120 deg off), 5% missing (workers/core/tracking/synthetic.py)",
    }


def bench_playback(n: int, seconds: float = 6.0) -> dict:
    from django.contrib.auth.models import User

    from annotator.models import Assignment, Role
    from annotator.sequences.services import build_tracks
    from tests.sequence_data import make_sequence_dataset

    dataset, sequence, _ = make_sequence_dataset(
        name="bench-playback", n_frames=n, with_files=True, width=640, height=480
    )
    build_tracks(sequence.pk)
    user = User.objects.create_user("bench-annotator")
    Assignment.objects.create(dataset=dataset, user=user, role=Role.ANNOTATOR)
    with chromium_page(user) as (page, base):
        page.goto(f"{base}/label/sequences/{sequence.pk}/")
        page.wait_for_function("window.headposeEditor !== undefined")
        page.evaluate("() => window.headposeEditor.ready")
        renderer = page.evaluate("() => window.headposeEditor.rendererInfo().renderer")
        # stepping: every frame once (what a held arrow key does)
        page.evaluate(
            "() => { const e = window.headposeEditor; e.drawTimes.length = 0;"
            f" for (let i = 0; i < {n}; i++) e.goToFrame(i); }}"
        )
        step_ms = page.evaluate("() => window.headposeEditor.drawTimes.slice()")
        # frame time as painted: show each frame, wait for its image to be decoded and the next paint
        paint_ms = page.evaluate(
            """async () => {
            const e = window.headposeEditor, img = document.getElementById('frame-image'), out = [];
            for (let i = 0; i < N_FRAMES; i++) {
                const t0 = performance.now();
                e.goToFrame(i);
                await img.decode();
                await new Promise((r) => requestAnimationFrame(r));
                out.push(performance.now() - t0);
            }
            return out; }""".replace("N_FRAMES", str(n))
        )
        page.evaluate(
            "() => { const e = window.headposeEditor; e.goToFrame(0); e.drawTimes.length = 0;"
            " window.__shown = [];"
            " const obs = () => { window.__shown.push([performance.now(), e.frame()]);"
            " if (e.playing) requestAnimationFrame(obs); }; e.play(); requestAnimationFrame(obs); }"
        )
        page.wait_for_timeout(seconds * 1000)
        page.evaluate("() => window.headposeEditor.pause()")
        play_ms = page.evaluate("() => window.headposeEditor.drawTimes.slice()")
        shown = page.evaluate("() => window.__shown")
    changes = [t for (t, f), (_, g) in zip(shown[1:], shown) if f != g]
    intervals = [b - a for a, b in zip(changes, changes[1:])]
    played = shown[-1][1] - shown[0][1] if shown else 0
    return {
        "frames": n,
        "size": "640x480",
        "renderer": renderer,
        "fps": 25,
        "step_draw": summary_ms(step_ms),
        "frame_painted": summary_ms(paint_ms),
        "play_draw": summary_ms(play_ms) if play_ms else None,
        "play_interval_between_shown_frames": summary_ms(intervals) if intervals else None,
        "play_frames_advanced": played,
        "play_seconds": seconds,
        "what": (
            "draw = the page's work for a frame (set the image, pose the head, render on SwiftShader, move the "
            "playhead); frame_painted = draw + the image decoded + the next animation frame (60 Hz in headless Chromium); "
            "play_interval = time between frames shown while playing at the sequence's fps"
        ),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--proposal-frames", type=int, default=200)
    parser.add_argument("--proposer", default="landmarks-fit")
    parser.add_argument("--playback-frames", type=int, default=300)
    parser.add_argument("--parts", default=",".join(PARTS))
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    os.environ["HEADPOSE_AUTO_PROPOSE"] = "False"  # the stages are timed one by one here
    os.environ["HEADPOSE_AUTO_MESH"] = "False"
    out = {"bench": "video", "cpu_count": os.cpu_count(), "device": "cpu"}
    folder = Path(tempfile.mkdtemp(prefix="headpose-video-bench-"))
    try:
        with django_test_db("video", allowed_hosts="127.0.0.1,localhost", test_environment=True) as connection:
            out["database"] = connection.vendor
            sequence = None
            if parts & {"import", "decode", "proposals", "smoothing"}:
                video = write_video(folder / "drive.mp4", args.frames)
                out["import"], sequence = bench_import(video, args.frames)
                if "decode" in parts:
                    out["decode"] = bench_decode(video, sequence)
                if "proposals" in parts or "smoothing" in parts:
                    out["proposals"] = bench_proposals(sequence, args.proposer, args.proposal_frames)
                if "smoothing" in parts:
                    out["smoothing"] = bench_smoothing(sequence)
            if "playback" in parts:
                out["playback"] = bench_playback(args.playback_frames)
        if "keyframes" in parts:
            out["smoother"] = smoother_quality()
            out["keyframes"] = bench_keyframes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print_json(out)


if __name__ == "__main__":
    main()
