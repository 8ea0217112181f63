"""Real-corpus readers: lhotse-style ``prepare_<corpus>()`` into Kaldi data dirs. Never imports usm_espnet.standin."""
