"""Errors of the proposers that a caller can show to a person (all ValueErrors)."""


class ProposerError(ValueError):
    """Base of the errors a caller can show to a person."""


class UnknownProposerError(ProposerError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MissingWeightsError(ProposerError, FileNotFoundError):
    """A proposer's weights file is not in the weights dir it was given."""


class InvalidInputError(ProposerError):
    pass
