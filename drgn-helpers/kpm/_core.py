# SPDX-License-Identifier: GPL-2.0
"""
Binding of kpm's C decoder core (libkpm.so) to a drgn Program.

The decoders are written once, in C, against a narrow target interface:
read memory, symbol address, struct member offset/size, enumerator value,
per-CPU offset.  This module implements that interface with drgn, so the
drgn helpers and crash's kpm.so run the very same decoding code.
"""

import ctypes
import os

import drgn

__all__ = ("Core", "KpmError")


class KpmError(Exception):
    """A decoder could not read what it needed (one-line reason)."""


_READ = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_size_t)
_SYMBOL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint64))
_MEMBER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p,
                           ctypes.POINTER(ctypes.c_long), ctypes.POINTER(ctypes.c_long))
_TYPE_SIZE = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_char_p)
_ENUM_VALUE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_long))
_PERCPU = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_uint64))


class _Callbacks(ctypes.Structure):
    _fields_ = [
        ("read", _READ),
        ("symbol", _SYMBOL),
        ("member", _MEMBER),
        ("type_size", _TYPE_SIZE),
        ("enum_value", _ENUM_VALUE),
        ("percpu_offset", _PERCPU),
    ]


def _libpath():
    env = os.environ.get("KPM_LIB")
    if env:
        return env
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "libkpm.so")


_lib = None


def _load():
    global _lib
    if _lib is None:
        path = _libpath()
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            raise KpmError(f"cannot load {path} (run make): {e}") from None
        lib.kpm_nvme_report_str.argtypes = [ctypes.POINTER(_Callbacks), ctypes.c_uint,
                                            ctypes.POINTER(ctypes.c_void_p),
                                            ctypes.c_char_p, ctypes.c_size_t]
        lib.kpm_nvme_report_str.restype = ctypes.c_int
        for fn in (lib.kpm_nvme_devs_cb,):
            fn.argtypes = [ctypes.POINTER(_Callbacks), ctypes.POINTER(ctypes.c_uint64),
                           ctypes.c_long, ctypes.c_char_p, ctypes.c_size_t]
            fn.restype = ctypes.c_long
        lib.kpm_nvme_queues_cb.argtypes = [ctypes.POINTER(_Callbacks), ctypes.c_uint64,
                                           ctypes.POINTER(ctypes.c_uint64), ctypes.c_long,
                                           ctypes.c_char_p, ctypes.c_size_t]
        lib.kpm_nvme_queues_cb.restype = ctypes.c_long
        lib.kpm_free.argtypes = [ctypes.c_void_p]
        lib.kpm_free.restype = None
        _lib = lib
    return _lib


class Core:
    """The C decoder core bound to one drgn Program."""

    def __init__(self, prog: drgn.Program) -> None:
        self.prog = prog
        self.lib = _load()
        self._types = {}
        # Keep the ctypes callbacks alive as long as the Core.
        self._cb = _Callbacks(_READ(self._read), _SYMBOL(self._symbol),
                              _MEMBER(self._member), _TYPE_SIZE(self._type_size),
                              _ENUM_VALUE(self._enum_value), _PERCPU(self._percpu))

    # The target interface, implemented with drgn.

    def _read(self, addr, buf, size):
        try:
            data = self.prog.read(addr, size)
        except (drgn.FaultError, ValueError, OverflowError):
            return -1
        ctypes.memmove(buf, data, size)
        return 0

    def _symbol(self, name, out):
        name = name.decode()
        try:
            out[0] = self.prog.symbol(name).address
            return 0
        except LookupError:
            pass
        try:
            out[0] = self.prog.object(name).address_
            return 0
        except (LookupError, TypeError, ValueError):
            return -1

    def _type(self, name):
        t = self._types.get(name)
        if t is None:
            try:
                t = self.prog.type("struct " + name)
            except LookupError:
                t = False
            self._types[name] = t
        return t

    def _member(self, type_name, member, off, size):
        t = self._type(type_name.decode())
        if not t:
            return -1
        member = member.decode()
        try:
            off[0] = drgn.offsetof(t, member)
            obj = drgn.Object(self.prog, t, address=0)
            size[0] = drgn.sizeof(obj.member_(member))
        except (LookupError, ValueError, TypeError):
            return -1
        return 0

    def _type_size(self, type_name):
        t = self._type(type_name.decode())
        if not t:
            return -1
        try:
            return drgn.sizeof(t)
        except TypeError:
            return -1

    def _enum_value(self, name, out):
        try:
            out[0] = self.prog.constant(name.decode()).value_()
            return 0
        except LookupError:
            return -1

    def _percpu(self, cpu, out):
        try:
            out[0] = self.prog["__per_cpu_offset"][cpu].value_()
            return 0
        except (LookupError, drgn.FaultError):
            return -1

    # Decoders.

    def _err(self):
        return ctypes.create_string_buffer(256)

    def nvme_report(self, flags: int) -> str:
        out = ctypes.c_void_p()
        err = self._err()
        ret = self.lib.kpm_nvme_report_str(ctypes.byref(self._cb), flags, ctypes.byref(out),
                                           err, len(err))
        try:
            if ret < 0:
                raise KpmError(err.value.decode(errors="replace"))
            return ctypes.string_at(out.value).decode(errors="replace") if out.value else ""
        finally:
            self.lib.kpm_free(out)

    def _addresses(self, fn, *args, limit=1024):
        arr = (ctypes.c_uint64 * limit)()
        err = self._err()
        n = fn(ctypes.byref(self._cb), *args, arr, limit, err, len(err))
        if n < 0:
            raise KpmError(err.value.decode(errors="replace"))
        return list(arr[:n])

    def nvme_devs(self):
        return self._addresses(self.lib.kpm_nvme_devs_cb, limit=64)

    def nvme_queues(self, dev: int):
        return self._addresses(self.lib.kpm_nvme_queues_cb, ctypes.c_uint64(dev))
