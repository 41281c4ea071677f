"""BRUSH_TO_NUMPY / BRUSH_TO_PNG exports: each brush region's RLE mask decoded to one 2-d uint8 image
(the alpha channel), saved as .npy or grayscale .png, named as label_studio_sdk's converter names them."""
from __future__ import annotations

import struct
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable


def decode_rle(rle: list[int] | bytes) -> bytearray:
    """Label Studio's brush RLE -> the flat RGBA bytes of the mask."""
    bits = "".join(format(byte, "08b") for byte in bytes(rle))
    position = 0

    def read(size: int) -> int:
        nonlocal position
        value = int(bits[position:position + size], 2)
        position += size
        return value

    count = read(32)
    word_size = read(5) + 1
    run_sizes = [read(4) + 1 for _ in range(4)]
    out = bytearray(count)
    index = 0
    while index < count:
        repeated = read(1)
        end = index + 1 + read(run_sizes[read(2)])
        if repeated:
            value = read(word_size)
            end = min(end, count)
            out[index:end] = bytes((value & 0xFF,)) * (end - index)
            index = end
        else:
            while index < end:
                out[index] = read(word_size) & 0xFF
                index += 1
    return out


def _layers(from_name: str, regions: list[dict]) -> dict[str, tuple[int, int, bytes]]:
    """{"<from_name>-<labels>-<n>": (height, width, alpha bytes)} for each brush region."""
    layers: dict[str, tuple[int, int, bytes]] = {}
    counters: dict[str, int] = defaultdict(int)
    for region in regions:
        kind = region["type"].lower()
        key = "brushlabels" if kind == "brushlabels" else ("labels" if kind == "labels" else None)
        if key is None or "rle" not in region:
            continue
        width, height = region["original_width"], region["original_height"]
        name = from_name + "-" + "-".join(region[key] if key in region else ["no_label"])
        number = counters[name]
        counters[name] += 1
        alpha = bytes(decode_rle(region["rle"])[3::4])
        layers[f"{name}-{number}"] = (height, width, alpha[: height * width])
    return layers


def npy_bytes(height: int, width: int, pixels: bytes) -> bytes:
    """numpy.save of a (height, width) uint8 array (format 1.0, header padded as numpy pads it)."""
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, %d), }" % (height, width)
    header += " " * (21 - len(repr(height)))  # numpy leaves room to grow the first axis in place
    length = len(header) + 1
    padding = 64 - ((6 + 2 + 2 + length) % 64)
    prefix = b"\x93NUMPY\x01\x00" + struct.pack("<H", length + padding)
    return prefix + header.encode("latin1") + b" " * padding + b"\n" + pixels


def png_bytes(height: int, width: int, pixels: bytes) -> bytes:
    """An 8-bit grayscale PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + pixels[row * width:(row + 1) * width] for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")


def _email(completed_by: Any) -> str:
    email = completed_by.get("email", "") if isinstance(completed_by, dict) else str(completed_by)
    return "".join(character for character in email if character.isalnum() or character in "@.")


def write_brush(items: Iterable[dict], output_dir: Path, *, as_png: bool) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    for item in items:
        for from_name, regions in item["output"].items():
            for name, (height, width, pixels) in _layers(from_name, regions).items():
                stem = (f"task-{item['id']}-annotation-{item['annotation_id']}-by-{_email(item['completed_by'])}-"
                        + name.replace("/", "-").replace("\\", "-"))
                if as_png:
                    (output_dir / f"{stem}.png").write_bytes(png_bytes(height, width, pixels))
                else:
                    (output_dir / f"{stem}.npy").write_bytes(npy_bytes(height, width, pixels))
