"""Connectors: platform payloads turned into plain inbound items, pull streams, and sending.

A leaf package: it imports httpx, cryptography and the standard library, never the rest of scrm.
"""
