"""Webinars: the list, registration and their staff management."""
