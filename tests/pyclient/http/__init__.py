"""Tests of pyclient.http."""
