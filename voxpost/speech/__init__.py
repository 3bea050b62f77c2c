"""Speech analysis: voice activity (:mod:`~voxpost.speech.vad`), transcription
(:mod:`~voxpost.speech.transcribe`), script alignment (:mod:`~voxpost.speech.align`), diarization
(:mod:`~voxpost.speech.diarize`, and :mod:`~voxpost.speech.diarize_pyannote` on pyannote checkpoints)
and their file formats (:mod:`~voxpost.speech.formats`)."""
