"""ASR_MANIFEST export (manifest.json, one NeMo JSON line per transcribed audio + audio/), as
label_studio_sdk's converter writes it. Like the converter, an item whose audio file cannot be
read (so has no duration) is left out; only files uploaded to this server can be read."""
from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any, Iterable

from core.exports.media import MediaResolver


def _annotator(completed_by: Any) -> str:
    return completed_by.get("email", "") if isinstance(completed_by, dict) else str(completed_by)


def write_asr_manifest(items: Iterable[dict], output_dir: Path, data_key: str | None, media: MediaResolver) -> None:
    audio_dir = output_dir / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    with open(output_dir / "manifest.json", "w") as out:
        for item in items:
            url = item["input"].get(data_key) if data_key else None
            if not isinstance(url, str):
                continue
            audio_path, local = media.place(url, output_dir, "audio", hashed=False)
            copied = audio_dir / Path(audio_path).name
            if local is None or not copied.exists():
                continue
            try:
                with wave.open(str(copied), mode="r") as audio:
                    duration = audio.getnframes() / float(audio.getframerate())
            except (wave.Error, EOFError, OSError):
                continue
            transcript = next((values[0]["text"][0] for values in item["output"].values()
                               if values and values[0].get("text")), None)
            if transcript is None:
                continue
            record = {"audio_filepath": audio_path, "duration": duration, "text": transcript,
                      "annotator": _annotator(item["completed_by"])}
            out.write(json.dumps(record) + "\n")
