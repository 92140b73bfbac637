"""Business rules. Nothing here imports aiogram: a WhatsApp channel will use the same services."""
