"""HA-free IEC 62056-21 protocol core."""
