"""Мектеп Парламенті bot: the application package (config, factory, services, CLI)."""
