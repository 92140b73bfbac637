"""People: registration, the guardian's consent and the profile."""
