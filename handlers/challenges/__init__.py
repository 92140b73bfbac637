"""Challenges: browsing and entering, the staff wizard and setup, review and the jury."""
