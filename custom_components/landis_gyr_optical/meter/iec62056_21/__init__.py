"""IEC 62056-21 (formerly IEC 61107): the optical port's text protocol, modes A to E and DSMR P1."""
