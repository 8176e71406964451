"""Tests of pyclient.store."""
