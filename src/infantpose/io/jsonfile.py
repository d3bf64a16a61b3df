"""Re-export of :func:`infantpose._jsonfile.read_json` for the io readers that import it here."""

from infantpose._jsonfile import read_json

__all__ = ["read_json"]
