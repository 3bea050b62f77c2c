"""Speech analysis: voice activity (more to come: transcription, alignment, diarization)."""
