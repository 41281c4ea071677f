"""Video key-frame interpolation for exports (Label Studio's interpolate_key_frames option): each
VideoRectangle region's sequence gets every frame between its key frames, as label_studio_sdk's
extract_key_frames computes them."""
from __future__ import annotations

from copy import deepcopy
from typing import Any, Mapping

_TRACKING_TYPES = {"videorectangle"}


def is_video_object_tracking(parsed_config: Mapping[str, Any]) -> bool:
    return any(str(info.get("type", "")).lower() in _TRACKING_TYPES for info in parsed_config.values())


def interpolate_key_frames(results: list[dict]) -> list[dict]:
    interpolated = []
    for result in results:
        if str(result.get("type", "")).lower() not in _TRACKING_TYPES:
            interpolated.append(result)
            continue
        sequence = result["value"]["sequence"]
        if len(sequence) < 1:
            continue
        copy = deepcopy(result)
        ordered = sorted(sequence, key=lambda frame: frame["frame"])
        exclude_first = False
        for index, frame in enumerate(ordered):
            following = ordered[index + 1] if index + 1 < len(ordered) else {}
            copy["value"]["sequence"].extend(_between(frame, following, result["value"].get("framesCount", 0),
                                                      result["value"].get("duration", 0), exclude_first))
            exclude_first = frame["enabled"]
        copy["value"]["sequence"] = sorted(copy["value"]["sequence"], key=lambda frame: frame["frame"])
        interpolated.append(copy)
    return interpolated


def _between(first: dict, second: dict, frames_count: int, duration: float, exclude_first: bool) -> list[dict]:
    """The frames after `first` up to `second` (or the video's end), linearly interpolated."""
    if not first["enabled"]:
        return []
    if second:
        if first["frame"] > second["frame"]:
            return []
        count = second["frame"] - first["frame"] + 1
    else:
        count = frames_count - first["frame"] + 1
    frames = []
    for step in range(1 if exclude_first else 0, count):
        number = step + first["frame"]
        fraction = step / max(1, count - 1)
        deltas = {
            key: 0 if (first[key] == second.get(key) or not second) else (second.get(key, 0) - first[key]) * fraction
            for key in ("x", "y", "rotation", "width", "height", "time")
        }
        frame = deepcopy(first)
        frame.update({
            "x": first["x"] + deltas["x"], "y": first["y"] + deltas["y"], "width": first["width"] + deltas["width"],
            "height": first["height"] + deltas["height"], "rotation": first["rotation"] + deltas["rotation"],
            "frame": number, "time": round(first["time"] + deltas["time"], 2),
        })
        if number not in (first.get("frame"), second.get("frame")):
            frame["auto"] = True
            if deltas["time"] == 0 and duration > 0:
                frame["time"] = round(first["time"] + fraction * (duration - first["time"]), 2)
            frames.append(frame)
    return frames
