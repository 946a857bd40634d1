"""DLMS/COSEM: A-XDR data, HDLC frames, APDUs and ciphering, push layouts, push and pull readers."""
