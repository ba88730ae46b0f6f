"""Build hook: `pip install` (normal and editable) compiles the native stub library.

The recipe lives in native/build.py, loaded here by path so that the build and the tests
share one compiler invocation. The library is a plain shared object loaded with ctypes; it
is declared as an extension only so that setuptools places it (in the wheel, or in the
source tree for an editable install).
"""

import importlib.util
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location(
    "_entersys_native_build", ROOT / "native" / "build.py"
)
native_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(native_build)


class BuildNative(build_ext):
    def build_extension(self, ext: Extension) -> None:
        native_build.build(Path(self.get_ext_fullpath(ext.name)))


setup(
    ext_modules=[
        Extension(
            "entersys.native._stubs",
            sources=[f"native/{s}" for s in native_build.SOURCES],
            depends=["native/gomap.inc", "native/es_abi.h", "native/build.py"],
        )
    ],
    cmdclass={"build_ext": BuildNative},
)
