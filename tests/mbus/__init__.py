"""Tests of the wired M-Bus family (EN 13757)."""
