"""Tests of the landis_gyr_optical integration."""
