class EvaluationRequestError(ValueError):
    """A request that cannot be carried out; the message says why."""
