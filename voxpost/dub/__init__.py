"""Dubbing: translated lines placed on the original's speech, in a chosen voice, with a rythmo band.

- :mod:`voxpost.dub.script`: the adaptor's script (SRT or CSV with rough timecodes), validated.
- :mod:`voxpost.dub.windows`: where the original actually speaks each line (VAD, alignment).
- :mod:`voxpost.dub.video`: mouth activity and lip closures from the picture (classic vision).
- :mod:`voxpost.dub.fit`: each line synthesised at a rate that fits, the rest time-warped within pace bounds.
- :mod:`voxpost.dub.engine`: the whole job: stem, mix, report.
- :mod:`voxpost.dub.rythmo`, :mod:`voxpost.dub.timeline`: the rythmo band picture and the OTIO timeline.
"""
