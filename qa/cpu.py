"""Which processor this is, as far as the answers depend on it.

The int8 reader's numbers depend on the kernel ONNX Runtime's MLAS picks for a u8 x s8
MatMulInteger, and that depends on a few instruction sets: AVX2, AVX-512 (BW/DQ/VL),
AVX-512 VNNI or AVX-VNNI, AMX. ``processor()`` names them and ``int8_path()`` says which
kernel MLAS takes (mirroring onnxruntime/core/mlas/lib/platform.cpp, 1.2x): only VNNI and
AMX multiply u8 x s8 exactly; AVX2 and AVX-512 without VNNI use vpmaddubsw, whose int16
pair sums saturate (the reason the reader read a point worse on a Zen 3, issue 34).

Flags come from the processor itself through numpy's cpuid probe (any OS, and what an
emulator reports), with /proc/cpuinfo filling the flags numpy does not know (AVX-VNNI,
AVX-VNNI-INT8, AMX) or replacing numpy when it cannot be read.
"""
from __future__ import annotations

import contextlib

import platform
from dataclasses import dataclass
from pathlib import Path

# our name -> (numpy __cpu_features__ key or None, /proc/cpuinfo flag)
FLAGS: dict[str, tuple[str | None, str]] = {
    "avx2": ("AVX2", "avx2"),
    "fma": ("FMA3", "fma"),
    "avx512f": ("AVX512F", "avx512f"),
    "avx512bw": ("AVX512BW", "avx512bw"),
    "avx512dq": ("AVX512DQ", "avx512dq"),
    "avx512vl": ("AVX512VL", "avx512vl"),
    "avx512_vnni": ("AVX512VNNI", "avx512_vnni"),
    "avx512_bf16": ("AVX512BF16", "avx512_bf16"),
    "avx_vnni": (None, "avx_vnni"),
    "avx_vnni_int8": (None, "avx_vnni_int8"),
    "amx_tile": (None, "amx_tile"),
    "amx_int8": (None, "amx_int8"),
}


@dataclass(frozen=True)
class Int8Path:
    """The kernel MLAS uses for a u8 x s8 (and a u8 x u8) integer matrix product."""

    u8s8: str  # kernel family for u8 activations x s8 weights
    u8s8_exact: bool  # False: int16 pair sums can saturate (vpmaddubsw)
    u8u8: str  # kernel family for u8 x u8 (widened to int16 before multiplying: exact)

    def describe(self) -> str:
        how = "exact" if self.u8s8_exact else "vpmaddubsw, can saturate"
        return f"u8s8 {self.u8s8} ({how}); u8u8 {self.u8u8} (exact)"


@dataclass(frozen=True)
class Processor:
    model: str
    machine: str  # platform.machine()
    flags: frozenset[str]  # our names (FLAGS keys) that are present
    source: str  # where the flags came from

    @property
    def x86(self) -> bool:
        return self.machine.lower() in ("x86_64", "amd64", "i386", "i686", "x86")

    @property
    def avx512(self) -> bool:
        """AVX-512 as MLAS's int8 kernels need it: F plus BW, DQ, VL."""
        return {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= self.flags

    @property
    def vnni(self) -> bool:
        return "avx512_vnni" in self.flags or "avx_vnni" in self.flags

    @property
    def amx(self) -> bool:
        return {"amx_tile", "amx_int8"} <= self.flags

    def instruction_sets(self) -> dict[str, bool]:
        return {"avx2": "avx2" in self.flags, "avx512": self.avx512, "avx512_vnni": "avx512_vnni" in self.flags,
                "avx_vnni": "avx_vnni" in self.flags, "amx": self.amx}

    def summary(self) -> str:
        if not self.x86:
            return f"{self.model} ({self.machine})"
        present = [name for name, on in self.instruction_sets().items() if on]
        return f"{self.model}: {' '.join(present) or 'no AVX2'}"

    def as_dict(self) -> dict:
        path = int8_path(self)
        return {"model": self.model, "machine": self.machine, "flags_from": self.source,
                **self.instruction_sets(),
                "int8_path": {"u8s8": path.u8s8, "u8s8_exact": path.u8s8_exact, "u8u8": path.u8u8},
                "reader_int8_weights": reader_int8_weights(self)}


def one_line(cpu: dict) -> str:
    """``Processor.as_dict()`` (as `qa info --json` and `qa bench` record it) in one line."""
    sets = [name for name in ("avx2", "avx512", "avx512_vnni", "avx_vnni", "amx") if cpu.get(name)]
    int8 = cpu["int8_path"]
    return (f"{cpu['model']}: {' '.join(sets) or 'no AVX2'}; int8 u8s8 kernel {int8['u8s8']} "
            f"({'exact' if int8['u8s8_exact'] else 'can saturate'}), reader weights {cpu['reader_int8_weights']}")


def int8_path(proc: Processor) -> Int8Path:
    """MLAS's choice of QGEMM kernels on ``proc`` (platform.cpp: later checks override earlier)."""
    if not proc.x86:
        return Int8Path("non-x86 (NEON/other)", True, "non-x86 (NEON/other)")
    if "avx2" not in proc.flags:
        return Int8Path("SSE", True, "SSE")  # widened to int16 with pmaddwd
    u8s8, exact, u8u8 = "AVX2", False, "AVX2"
    if "avx_vnni" in proc.flags:
        u8s8, exact = "AVX-VNNI", True
    if "avx512f" in proc.flags and proc.avx512:
        u8s8, exact, u8u8 = "AVX-512", False, "AVX-512"
        if "avx512_vnni" in proc.flags:
            u8s8, exact = "AVX-512 VNNI", True
    if "avx_vnni_int8" in proc.flags:
        u8u8 = "AVX-VNNI-INT8"
    if proc.amx:
        u8s8, exact = "AMX", True
    return Int8Path(u8s8, exact, u8u8)


def reader_int8_weights(proc: Processor) -> str:
    """How the int8 reader's weights are fed to MLAS here: "s8" as shipped where u8 x s8 is
    exact, "u8" (shifted by 128, lossless) where it would saturate."""
    return "s8" if int8_path(proc).u8s8_exact else "u8"


def parse_cpuinfo(text: str) -> tuple[str, frozenset[str]]:
    """(model name, flags) of the first processor in a /proc/cpuinfo text."""
    model, flags = "", frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
        if model and flags:
            break
    return model, flags


def from_flags(numpy_features: dict[str, bool] | None, cpuinfo_flags: frozenset[str] | None,
               model: str = "", machine: str = "x86_64") -> Processor:
    """A Processor from numpy's ``__cpu_features__`` and/or /proc/cpuinfo's flags; numpy
    (cpuid) decides the flags it knows when given, cpuinfo the rest."""
    present: set[str] = set()
    sources = []
    if numpy_features:
        sources.append("cpuid (numpy)")
    if cpuinfo_flags:
        sources.append("/proc/cpuinfo")
    for name, (np_key, linux_flag) in FLAGS.items():
        if numpy_features and np_key is not None and np_key in numpy_features:
            on = bool(numpy_features[np_key])
        else:
            on = bool(cpuinfo_flags) and linux_flag in cpuinfo_flags
        if on:
            present.add(name)
    return Processor(model or platform.processor() or machine, machine, frozenset(present),
                     " + ".join(sources) or "none")


def _numpy_features() -> dict[str, bool] | None:
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:
        try:
            from numpy.core._multiarray_umath import __cpu_features__  # numpy < 2
        except ImportError:
            return None
    return dict(__cpu_features__)


_CACHED: Processor | None = None


def processor() -> Processor:
    """This machine's processor (probed once)."""
    global _CACHED
    if _CACHED is None:
        model, flags = "", None
        path = Path("/proc/cpuinfo")
        if path.exists():
            with contextlib.suppress(OSError):  # unreadable: numpy's probe alone names the flags
                model, flags = parse_cpuinfo(path.read_text(encoding="utf-8", errors="replace"))
        _CACHED = from_flags(_numpy_features(), flags, model, platform.machine())
    return _CACHED


if __name__ == "__main__":
    print(one_line(processor().as_dict()))
