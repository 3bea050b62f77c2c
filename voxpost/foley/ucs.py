"""Universal Category System (UCS) file names and Broadcast WAV descriptions for foley takes.

A UCS name is ``CatID_FXName_CreatorID_SourceID.wav``: the CatID ("FEETHmn") from the model, the
FXName a short title ("Gravel Walk Slow"), the creator ("VOXPOST") and the source, here the take
("T01"). Underscores separate the fields and hyphens are reserved, so neither appears inside one.

Examples
--------
>>> file_name("FEETHmn", "gravel walk, slow", 1)
'FEETHmn_Gravel Walk Slow_VOXPOST_T01.wav'
"""

from __future__ import annotations

import re

from voxpost.foley.model import FoleyError

#: Longest FXName kept (UCS recommends short, readable names).
FX_NAME_MAX = 50
_SMALL = {"a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"}


def fx_name(text: str) -> str:
    """``text`` as an FXName: title case, letters, digits and spaces only, at most 50 characters."""
    words = " ".join(re.sub(r"[^A-Za-z0-9 ]+", " ", str(text)).split()).split(" ")
    titled = [w if (w.isupper() and len(w) > 1) or w[:1].isdigit() else
              (w.lower() if 0 < i < len(words) - 1 and w.lower() in _SMALL else w[:1].upper() + w[1:].lower())
              for i, w in enumerate(words) if w]
    out = " ".join(titled)
    if len(out) > FX_NAME_MAX:
        out = out[:FX_NAME_MAX].rsplit(" ", 1)[0] if " " in out[:FX_NAME_MAX] else out[:FX_NAME_MAX]
    if not out:
        raise FoleyError(f"the FXName is empty once cleaned ({text!r})")
    return out


def source_id(take_index: int) -> str:
    """The SourceID of take ``take_index`` (1-based): ``T01``, ``T02``, ... ``T100``."""
    if take_index < 1:
        raise FoleyError(f"take numbers start at 1, got {take_index}")
    return f"T{take_index:02d}"


def file_name(cat_id: str, fx: str, take_index: int, creator: str = "VOXPOST", ext: str = ".wav") -> str:
    """``CatID_FXName_CreatorID_SourceID.wav`` for take ``take_index`` (1-based).

    Parameters
    ----------
    cat_id : str
        The UCS CatID, e.g. "FEETHmn" (letters and digits only).
    fx : str
        A free title; cleaned by :func:`fx_name`.
    take_index : int
        1 for the first take.
    creator : str
        The CreatorID (letters and digits; spaces removed).
    """
    cat = re.sub(r"[^A-Za-z0-9]+", "", cat_id)
    who = re.sub(r"[^A-Za-z0-9]+", "", creator)
    if not cat or not who:
        raise FoleyError(f"a UCS CatID and CreatorID need letters or digits (got {cat_id!r}, {creator!r})")
    return f"{cat}_{fx_name(fx)}_{who}_{source_id(take_index)}{ext}"


def description(prompt: str, models: list[str], seed: int, take_index: int, cat_id: str = "") -> str:
    """The BWF ``bext`` description (ASCII, at most 256 characters): what was asked and how it was made."""
    head = f"{cat_id} " if cat_id else ""
    text = (f"{head}{' '.join(str(prompt).split())} | models: {', '.join(models)} | seed {seed} | "
            f"take {take_index} | voxpost foley (procedural)")
    text = text.encode("ascii", "replace").decode("ascii")
    return text[:256]


__all__ = ["FX_NAME_MAX", "description", "file_name", "fx_name", "source_id"]
