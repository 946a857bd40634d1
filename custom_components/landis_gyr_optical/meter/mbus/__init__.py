"""Wired M-Bus (EN 13757): the long frames of the link layer and the RSP_UD application layer."""
