"""Long-form (hours of audio) encoding and decoding."""
