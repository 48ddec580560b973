"""The package's version, in a module of its own: the fingerprint of a policy (`fingerprint`)
includes it, and the build reads it from here (`setup.cfg`) without importing the package."""

__version__ = "0.1.0"
