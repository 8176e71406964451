"""Tests of pyclient.core."""
