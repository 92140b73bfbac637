"""Domain errors carry a code; the channel layer turns the code into a localized reply."""


class DomainError(Exception):
    def __init__(self, code: str, /, **details: object) -> None:
        super().__init__(code)
        self.code = code
        self.details = details
