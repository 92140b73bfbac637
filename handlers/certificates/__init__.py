"""Certificates: issuing, templates and verification."""
