"""Landis+Gyr optical meter reader."""
