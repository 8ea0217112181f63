"""Tests for usm_espnet.standin. A package so that its test files may share base names with those of
tests/corpora and tests/standin (test_coraal.py in both: pytest's default import mode needs that)."""
