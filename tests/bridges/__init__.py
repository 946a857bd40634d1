"""Reads through real bridge software: Debian's ser2net and pyserial's RFC 2217 server.

Both run as separate processes on 127.0.0.1 in front of the simulated meter's pty.
"""
