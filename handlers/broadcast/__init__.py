"""Broadcasts: composing, sending and managing them."""
