"""Numerical kernels only: Numba ``njit`` (and ``numba.cuda``) loops, no I/O, no policy.

Each kernel has a plain NumPy reference beside it that the tests compare it with.
"""
