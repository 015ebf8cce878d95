"""rsd: read, check and run RSD API profiles (CData API Script / Matillion API Query).

The public API is what this module names; everything else is internal and may change.
"""
__version__ = "0.1.0"
