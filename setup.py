"""The native part of the package (everything else is in pyproject.toml).

The event loader's hot loop (ingestion/events/native/), built by `pip install`: it needs a C
compiler, Python's headers and OpenSSL's (libssl-dev: the digests come from the libcrypto
that Python's hashlib uses).
"""

from setuptools import Extension, setup

NATIVE = "ingestion/events/native"

setup(
    ext_modules=[
        Extension(
            "ingestion.events._fastmap",
            sources=[f"{NATIVE}/rows.c", f"{NATIVE}/fastmap.c"],
            depends=[f"{NATIVE}/rows.h"],
            libraries=["crypto"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
                                "-Wno-missing-field-initializers"],
        )
    ]
)
