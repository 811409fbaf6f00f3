# SPDX-License-Identifier: GPL-2.0
"""
Binding of kpm's C decoder core (libkpm.so) to a drgn Program.

The decoders are written once, in C, against a narrow target interface:
read memory, symbol address, struct member offset/size, enumerator value,
per-CPU offset.  This module implements that interface with drgn, so the
drgn helpers and crash's kpm.so run the very same decoding code.
"""

import bisect
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
_SYMBOL_AT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_size_t,
                              ctypes.POINTER(ctypes.c_uint64))
_TYPE_SIZE = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_char_p)
_ENUM_VALUE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_long))
_PERCPU = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_uint64))


class _Callbacks(ctypes.Structure):
    _fields_ = [
        ("read", _READ),
        ("symbol", _SYMBOL),
        ("member", _MEMBER),
        ("member_bits", _MEMBER),
        ("type_size", _TYPE_SIZE),
        ("enum_value", _ENUM_VALUE),
        ("percpu_offset", _PERCPU),
        ("symbol_at", _SYMBOL_AT),
    ]


def _find_member(t, name, base):
    """(bit offset, bit size) of member @name of type @t, looking into
    anonymous structs and unions."""
    for m in t.members:
        if m.name == name:
            size = m.bit_field_size or 8 * drgn.sizeof(m.type)
            return base + m.bit_offset, size
        if m.name is None:
            inner = _find_member(m.type.unqualified(), name, base + m.bit_offset)
            if inner is not None:
                return inner
    return None


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
        lib.kpm_kmemleak_report_str.argtypes = [ctypes.POINTER(_Callbacks), ctypes.c_uint,
                                                ctypes.c_char_p, ctypes.c_uint64, ctypes.c_uint64,
                                                ctypes.POINTER(ctypes.c_void_p),
                                                ctypes.c_char_p, ctypes.c_size_t]
        lib.kpm_kmemleak_report_str.restype = ctypes.c_long
        lib.kpm_kmemleak_objects_cb.argtypes = [ctypes.POINTER(_Callbacks),
                                                ctypes.POINTER(ctypes.c_uint64), ctypes.c_long,
                                                ctypes.c_char_p, ctypes.c_size_t]
        lib.kpm_kmemleak_objects_cb.restype = ctypes.c_long
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
        self._syms = None
        # Keep the ctypes callbacks alive as long as the Core.
        self._cb = _Callbacks(_READ(self._read), _SYMBOL(self._symbol),
                              _MEMBER(self._member), _MEMBER(self._member_bits),
                              _TYPE_SIZE(self._type_size), _ENUM_VALUE(self._enum_value),
                              _PERCPU(self._percpu), _SYMBOL_AT(self._symbol_at))

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
        """A struct tag ("nvme_queue"), or "union TAG"."""
        t = self._types.get(name)
        if t is None:
            try:
                t = self.prog.type(name if name.startswith(("union ", "struct ")) else "struct " + name)
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
            mtype = drgn.Object(self.prog, t, address=0).member_(member).type_
        except (LookupError, ValueError, TypeError):
            return -1
        try:
            size[0] = drgn.sizeof(mtype)
        except TypeError:
            size[0] = 0  # a flexible array member, as crash reports it
        return 0

    def _member_bits(self, type_name, member, bit_off, bit_size):
        t = self._type(type_name.decode())
        if not t:
            return -1
        found = _find_member(t, member.decode(), 0)
        if found is None:
            return -1
        bit_off[0], bit_size[0] = found
        return 0

    def _symtab(self):
        """Every named code or data symbol, sorted by address: what kallsyms
        (and crash) search, so that an inner label such as
        entry_SYSCALL_64_after_hwframe names the address the way the
        kernel's own %pS does, where prog.symbol() would give the sized
        symbol containing it."""
        if self._syms is None:
            skip = (drgn.SymbolKind.SECTION, drgn.SymbolKind.FILE)
            # Among aliases the kernel's kallsyms lookup names the first in
            # symbol-table order, where locals come before globals (and weak
            # ones last); prog.symbols() does not keep that order, so rank
            # by binding.
            rank = {drgn.SymbolBinding.LOCAL: 0, drgn.SymbolBinding.GLOBAL: 1}
            syms = sorted((s.address, rank.get(s.binding, 2), i, s.name)
                          for i, s in enumerate(self.prog.symbols())
                          if s.name and s.kind not in skip and s.address)
            self._syms = ([s[0] for s in syms], [s[3] for s in syms])
        return self._syms

    def _symbol_at(self, addr, buf, size, off):
        addrs, names = self._symtab()
        i = bisect.bisect_right(addrs, addr) - 1
        if i < 0:
            return -1
        i = bisect.bisect_left(addrs, addrs[i])  # aliases: the first in symbol-table order
        name = names[i].encode()[: size - 1] + b"\0"
        ctypes.memmove(buf, name, len(name))
        off[0] = addr - addrs[i]
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

    def _report(self, fn, *args) -> str:
        out = ctypes.c_void_p()
        err = self._err()
        ret = fn(ctypes.byref(self._cb), *args, ctypes.byref(out), err, len(err))
        try:
            if ret < 0:
                raise KpmError(err.value.decode(errors="replace"))
            return ctypes.string_at(out.value).decode(errors="replace") if out.value else ""
        finally:
            self.lib.kpm_free(out)

    def nvme_report(self, flags: int) -> str:
        return self._report(self.lib.kpm_nvme_report_str, flags)

    def kmemleak_report(self, flags: int, comm: str = "", min_size: int = 0, addr: int = 0) -> str:
        return self._report(self.lib.kpm_kmemleak_report_str, flags, comm.encode(), min_size, addr)

    def kmemleak_objects(self):
        limit = 1 << 16
        while True:
            objs = self._addresses(self.lib.kpm_kmemleak_objects_cb, limit=limit)
            if len(objs) < limit:
                return objs
            limit *= 4

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
