"""What every feature's handlers share: texts, keyboards, the menu, the error handler."""
