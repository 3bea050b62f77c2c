"""Provenance: which AI stages made or touched an audio file, written beside it and inside it.

Every file that ``speak``, ``voice convert`` and ``dub`` write (stem and mix) goes through
:func:`write_synthetic`, which

1. embeds the watermark (:mod:`voxpost.voice.watermark`) with a payload naming the tool, its
   version, the voice profile and the time;
2. writes the audio atomically, with the provenance record in the Broadcast WAV ``iXML`` chunk
   (element ``VOXPOST_PROVENANCE``, JSON text) and ``AI-generated`` in the ``bext`` description
   when the output is WAV;
3. writes the sidecar ``<output>.provenance.json``: the same record plus the output's sha256.

Nothing is left half-written: both outputs are checked before any work and the audio is removed
again if the sidecar cannot be written. A record that was already in the input's iXML (a spoken
line later converted) is kept under ``derived_from``.

The record::

    {"format": "voxpost-provenance", "version": 1, "ai_generated": true,
     "created_utc": "...", "tool": {"name": "voxpost", "version": "0.1.0"},
     "stages": [{"stage": "tts", "engine": "espeak-ng", ...},
                {"stage": "voice-convert", "backend": "embedded-vocoder", "profile": {...}},
                {"stage": "watermark", "scheme": ..., "payload": {...}, "snr_db": 36.0}],
     "inputs": [{"file": "take.wav", "sha256": "..."}],
     "output": {"file": "line.wav", "sha256": "..."}}        # sidecar only
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

from voxpost.errors import VoxpostError
from voxpost.models import sha256_file as file_sha256  # noqa: F401 (part of this module's API)

FORMAT = "voxpost-provenance"
FORMAT_VERSION = 1
IXML_ELEMENT = "VOXPOST_PROVENANCE"
SIDECAR_SUFFIX = ".provenance.json"


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """``line.wav`` -> ``line.wav.provenance.json``."""
    p = Path(path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def describe_inputs(paths: list[str | os.PathLike[str]]) -> list[dict[str, str]]:
    """``[{"file", "sha256"}]`` of the files an output was made from."""
    return [{"file": Path(p).name, "sha256": file_sha256(p)} for p in paths]


def record(stages: list[dict[str, Any]], *, inputs: list[dict[str, str]] = (),
           derived_from: dict[str, Any] | None = None, when: _dt.datetime | None = None) -> dict[str, Any]:
    """A provenance record for audio made by ``stages`` (in order) from ``inputs``."""
    from voxpost import __version__

    when = when or _dt.datetime.now(_dt.timezone.utc)
    out = {"format": FORMAT, "version": FORMAT_VERSION, "ai_generated": True,
           "created_utc": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
           "tool": {"name": "voxpost", "version": __version__},
           "stages": list(stages), "inputs": list(inputs)}
    if derived_from:
        out["derived_from"] = derived_from
    return out


def from_ixml(ixml: str | None) -> dict[str, Any] | None:
    """The provenance record inside an iXML document, or None."""
    if not ixml:
        return None
    try:
        root = ET.fromstring(ixml.strip())
    except ET.ParseError:
        return None
    el = root.find(IXML_ELEMENT)
    if el is None or not el.text:
        return None
    try:
        data = json.loads(el.text)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def to_ixml(prov: dict[str, Any], existing: str | None = None) -> str:
    """iXML carrying ``prov``: the input's iXML with our element replaced or added, else a new one."""
    root = None
    if existing:
        try:
            root = ET.fromstring(existing.strip())
        except ET.ParseError:
            root = None
        if root is not None and root.tag != "BWFXML":
            root = None
    if root is None:
        root = ET.Element("BWFXML")
        ET.SubElement(root, "IXML_VERSION").text = "2.10"
    for old in root.findall(IXML_ELEMENT):
        root.remove(old)
    note = root.find("NOTE")
    if note is None:
        note = ET.SubElement(root, "NOTE")
    note.text = "AI-generated audio (voxpost); see VOXPOST_PROVENANCE"
    ET.SubElement(root, IXML_ELEMENT).text = json.dumps(prov, sort_keys=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def read(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The provenance of a file: its sidecar if present, else the record in its iXML."""
    side = sidecar_path(path)
    if side.is_file():
        try:
            return json.loads(side.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
    if Path(path).suffix.lower() in (".wav", ".bwf", ".rf64"):
        from voxpost import bwf

        try:
            return from_ixml(bwf.read_layout(path).ixml)
        except (OSError, VoxpostError):
            return None
    return None


def check_outputs(path: str | os.PathLike[str], *, overwrite: bool, protect=()) -> None:
    """Raise before any work if the audio (a format voxpost writes) or its sidecar may not be written."""
    from voxpost.outputs import check_output
    from voxpost.writer import WRITE_FORMATS

    ext = Path(path).suffix.lower()
    if ext not in WRITE_FORMATS:
        raise VoxpostError(f"{path}: cannot write '{ext or 'no extension'}' files; use one of "
                           f"{', '.join(sorted(WRITE_FORMATS))}")
    check_output(path, overwrite=overwrite, protect=protect)
    check_output(sidecar_path(path), overwrite=overwrite, protect=protect)


def write_synthetic(audio, path: str | os.PathLike[str], stages: list[dict[str, Any]], *,
                    inputs: list[dict[str, str]] = (), profile_id: str | None = None,
                    overwrite: bool = False, protect=(), subtype: str | None = None) -> dict[str, Any]:
    """Watermark ``audio``, write it with its provenance (iXML) and the sidecar; return the record.

    Parameters
    ----------
    audio : voxpost.audio.Audio
        The synthetic audio; its timecode and metadata (iXML of the input) are kept.
    stages : list of dict
        What made it, in order; the watermark stage is appended here.
    inputs : list of dict
        :func:`describe_inputs` of the source files.
    profile_id : str, optional
        Id of the voice profile used, carried in the watermark payload.
    """
    from voxpost import bwf
    from voxpost.audio import save
    from voxpost.voice import watermark

    out = Path(path)
    check_outputs(out, overwrite=overwrite, protect=protect)
    payload = watermark.make_payload(profile_id=profile_id)
    marked, snr_db = watermark.embed(audio.samples, audio.sample_rate, payload)
    stages = list(stages) + [{"stage": "watermark", "scheme": watermark.SCHEME,
                              "payload": payload.to_dict(), "snr_db": round(float(snr_db), 2)}]
    prov = record(stages, inputs=inputs, derived_from=from_ixml(audio.metadata.get("ixml")))
    result = audio.with_samples(marked)
    result.metadata["ixml"] = to_ixml(prov, audio.metadata.get("ixml"))
    bext = result.metadata.get("bext") or bwf.Bext()
    result.metadata["bext"] = replace(bext, description="AI-generated audio (voxpost): "
                                      + ", ".join(s["stage"] for s in stages),
                                      origination_date=prov["created_utc"][:10],
                                      origination_time=prov["created_utc"][11:19])
    save(result, out, subtype=subtype, overwrite=overwrite)
    side = dict(prov, output={"file": out.name, "sha256": file_sha256(out)})
    try:
        from voxpost.outputs import write_text

        write_text(sidecar_path(out), json.dumps(side, indent=2) + "\n", overwrite=overwrite,
                          protect=protect)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return side
