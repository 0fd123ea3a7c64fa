"""The processor's code paths, pinned so that a seed recomputes with the same bits on any x86-64 processor.

Three libraries choose their code by the processor they run on, and the choice moves fp32 and fp64 rounding: MKL
(torch's matrix products) by its dispatch, ATen (torch's element-wise and reduction kernels) by its CPU capability,
OpenBLAS (numpy's, which fits the bound and so preinit's weights) by its kernel set and its thread count. On another
processor an unpinned training differs from its record from the first epoch (an ulp) and by the last epoch by
points of pct. Each library reads its choice from the environment once, when it loads, so `import bvae` sets them
(`pin`), unless the caller set them first or `BVAE_PROCESSOR=native` asks for the libraries' own choice.
`describe` reads back which paths are in effect, for every result's provenance (docs/reliability.md,
"Reproducibility").
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from pathlib import Path

# The AVX2 paths: every x86-64 processor of the last decade has them (Intel since 2013, AMD since 2015), and MKL's
# conditional numerical reproducibility promises the same bits on each for a given branch and thread count.
PINNED = {
    "MKL_CBWR": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
    "OPENBLAS_CORETYPE": "Haswell",
    "OPENBLAS_NUM_THREADS": "1",  # OpenBLAS's thread count moves the bound's last bits; the bound takes a second
}
OPT_OUT = "BVAE_PROCESSOR"  # "native": the libraries choose by the processor (faster on AVX-512, not recomputable)
# MKL's branch codes (mkl_cbwr.h), as mkl_serv_cbwr_get returns them.
_MKL_BRANCHES = {1: "OFF", 2: "AUTO", 3: "COMPATIBLE", 4: "SSE2", 6: "SSSE3", 7: "SSE4_1", 8: "SSE4_2", 9: "AVX",
                 10: "AVX2", 11: "AVX512_MIC", 12: "AVX512", 13: "AVX512_MIC_E1", 14: "AVX512_E1"}  # fmt: skip


def pin() -> None:
    """Set the pinned code paths in the environment, where the caller has not set them already (`import bvae` calls
    it, before numpy and torch load)."""
    if os.environ.get(OPT_OUT, "pinned") == "native":
        return
    for name, value in PINNED.items():
        os.environ.setdefault(name, value)


def describe() -> dict[str, str]:
    """The processor and the code paths in effect, for provenance: what the libraries report once loaded (a library
    not loaded yet reports the environment it will read)."""
    return {"processor": _processor(), **{name: value for name, value in _paths().items() if value}}


def _processor() -> str:
    """Vendor, model and widest vector extension, e.g. 'AuthenticAMD AMD EPYC 9B14 (family 25 model 17, avx512f)'."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:  # not Linux
        return platform.processor() or platform.machine()
    flags = set(fields.get("flags", "").split())
    widest = next((flag for flag in ("avx512f", "avx2", "avx") if flag in flags), "no avx")
    model = f"family {fields.get('cpu family', '?')} model {fields.get('model', '?')}"
    return f"{fields.get('vendor_id', '?')} {fields.get('model name', platform.machine())} ({model}, {widest})"


def _paths() -> dict[str, str | None]:
    env = {name: os.environ.get(name) for name in PINNED}
    return {
        "mkl_branch": _mkl_branch() or env["MKL_CBWR"],
        "aten_capability": _aten_capability() or env["ATEN_CPU_CAPABILITY"],
        "openblas_core": _openblas_core() or env["OPENBLAS_CORETYPE"],
        "openblas_threads": env["OPENBLAS_NUM_THREADS"],
    }


def _aten_capability() -> str | None:
    torch = sys.modules.get("torch")
    return torch.backends.cpu.get_cpu_capability() if torch else None


def _mkl_branch() -> str | None:
    """MKL's branch in effect, asked of the MKL inside torch (none before torch loads)."""
    torch = sys.modules.get("torch")
    if not torch or not torch.__file__:
        return None
    try:
        get = ctypes.CDLL(str(Path(torch.__file__).parent / "lib" / "libtorch_cpu.so")).mkl_serv_cbwr_get
    except (OSError, AttributeError):  # another build of torch, without MKL
        return None
    get.restype = ctypes.c_int
    code = get(1)  # MKL_CBWR_BRANCH
    return _MKL_BRANCHES.get(code, str(code))


def _openblas_core() -> str | None:
    """The kernel set of numpy's OpenBLAS (numpy's wheels bundle scipy-openblas; none before numpy loads)."""
    numpy = sys.modules.get("numpy")
    libs = Path(numpy.__file__).parent.parent / "numpy.libs" if numpy and numpy.__file__ else None
    for lib in sorted(libs.glob("libscipy_openblas*.so")) if libs and libs.is_dir() else []:
        try:
            corename = ctypes.CDLL(str(lib)).scipy_openblas_get_corename64_
        except (OSError, AttributeError):
            continue
        corename.restype = ctypes.c_char_p
        return corename().decode()
    return None
