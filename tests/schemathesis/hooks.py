"""Hooks for the schemathesis run of tests/it/schemathesis.rs.

A plan file travels as `application/toml`: text, sent as written.
"""
import schemathesis

schemathesis.serializer.alias("application/toml", "text/plain")
