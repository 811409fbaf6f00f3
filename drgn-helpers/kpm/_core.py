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
import sys

import drgn

__all__ = ("Core", "KpmError", "UsageError", "decoders", "help_text", "usage_text", "object_kinds")


class KpmError(Exception):
    """A decoder could not read what it needed (one-line reason)."""


_READ = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_size_t)
_SYMBOL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint64))
_MEMBER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p,
                           ctypes.POINTER(ctypes.c_long))
_SYMBOL_AT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_size_t,
                              ctypes.POINTER(ctypes.c_uint64))
_TYPE_SIZE = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_char_p)
_ENUM_VALUE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_long))


class _Callbacks(ctypes.Structure):
    _fields_ = [
        ("read", _READ),
        ("symbol", _SYMBOL),
        ("member", _MEMBER),
        ("type_size", _TYPE_SIZE),
        ("enum_value", _ENUM_VALUE),
        ("symbol_at", _SYMBOL_AT),
        ("arch", ctypes.c_char_p),
        ("dumpfile", ctypes.c_char_p),
    ]


def _find_member(t, name, base):
    """(bit offset, TypeMember) of member @name of type @t, looking into
    anonymous structs and unions; drgn.offsetof() refuses bitfields ("not
    byte-aligned"), the members' own bit_offset does not."""
    for m in t.members:
        if m.name == name:
            return base + m.bit_offset, m
        if m.name is None:
            inner = _find_member(m.type.unqualified(), name, base + m.bit_offset)
            if inner is not None:
                return inner
    return None


def _linker_provided(name):
    """scripts/kallsyms.c may_be_linker_script_provide_symbol()"""
    if len(name) < 8 or not name.startswith("__"):
        return False
    return (name.startswith(("__start_", "__stop_", "__end_")) or name.endswith(("_start", "_end")))


_dump_paths = {}


def set_dump_path(prog: drgn.Program, path: str) -> None:
    """Tell kpm which file @prog's dump was read from (drgn does not say):
    a dump that makedumpfile filtered carries its erase commands there,
    and kpm then reports what they erased as erased."""
    _dump_paths[id(prog)] = path


def _dump_path(prog):
    """The dump's file: as set_dump_path() gave it, else drgn's -c/--core
    argument when drgn's own command line runs us; None for a live kernel."""
    if prog.flags & drgn.ProgramFlags.IS_LIVE:
        return None
    path = _dump_paths.get(id(prog))
    if path is None:
        try:
            argv = open("/proc/self/cmdline", "rb").read().split(b"\0")
        except OSError:
            argv = []
        # drgn's own options come before the script; its arguments after
        # (kmemleak has a -c of its own)
        script = os.fsencode(sys.argv[0]) if sys.argv and sys.argv[0] else None
        if script in argv:
            argv = argv[:argv.index(script)]
        for i, a in enumerate(argv):
            if a in (b"-c", b"--core") and i + 1 < len(argv):
                path = argv[i + 1].decode(errors="replace")
            elif a.startswith(b"--core="):
                path = a[7:].decode(errors="replace")
            elif a.startswith(b"-c") and len(a) > 2 and not a.startswith(b"--"):
                path = a[2:].decode(errors="replace")
    return path.encode() if path else None


def _libpath():
    env = os.environ.get("KPM_LIB")
    if env:
        return env
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "libkpm.so")


_lib = None


def check_dumpfile(path: str):
    """(status, reason) of a dump file's structure, checked before drgn's
    libkdumpfile reads it (core/dumpfile.c): 0 sound, 1 usable but cut
    short (pages past the end read as missing), -1 unusable."""
    err = ctypes.create_string_buffer(256)
    ret = _load().kpm_dumpfile_check(path.encode(), err, len(err))
    return ret, err.value.decode(errors="replace")


def _load():
    global _lib
    if _lib is None:
        path = _libpath()
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            raise KpmError(f"cannot load {path} (run make): {e}") from None
        cb = ctypes.POINTER(_Callbacks)
        err = [ctypes.c_char_p, ctypes.c_size_t]
        lib.kpm_run_str.argtypes = [cb, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p),
                                    ctypes.POINTER(ctypes.c_void_p)] + err
        lib.kpm_run_str.restype = ctypes.c_long
        lib.kpm_run_fd.argtypes = [cb, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p),
                                   ctypes.c_int] + err
        lib.kpm_run_fd.restype = ctypes.c_long
        lib.kpm_objects_cb.argtypes = [cb, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint64,
                                       ctypes.POINTER(ctypes.c_uint64), ctypes.c_long] + err
        lib.kpm_objects_cb.restype = ctypes.c_long
        lib.kpm_dumpfile_check.argtypes = [ctypes.c_char_p] + err
        lib.kpm_dumpfile_check.restype = ctypes.c_int
        for fn in (lib.kpm_help_str, lib.kpm_usage_str):
            fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
            fn.restype = ctypes.c_void_p
        lib.kpm_objects_str.argtypes = [ctypes.c_char_p]
        lib.kpm_objects_str.restype = ctypes.c_void_p
        lib.kpm_list_str.argtypes = []
        lib.kpm_list_str.restype = ctypes.c_void_p
        lib.kpm_free.argtypes = [ctypes.c_void_p]
        lib.kpm_free.restype = None
        _lib = lib
    return _lib


def _string(ptr) -> str:
    """A malloc'd string from libkpm, freed."""
    if not ptr:
        return ""
    try:
        return ctypes.string_at(ptr).decode(errors="replace")
    finally:
        _load().kpm_free(ptr)


def decoders():
    """{name: one-line summary} of every decoder in the core's registry."""
    return dict(l.split("\t", 1) for l in _string(_load().kpm_list_str()).splitlines())


def help_text(name: str, prefix: str = "") -> str:
    """The decoder's help, as crash's `help NAME` prints it."""
    return _string(_load().kpm_help_str(name.encode(), prefix.encode()))


def usage_text(name: str, prefix: str = "") -> str:
    return _string(_load().kpm_usage_str(name.encode(), prefix.encode()))


def object_kinds(name: str):
    """{kind: (C type, parent kind or None)} of a decoder's object iterators."""
    kinds = {}
    for l in _string(_load().kpm_objects_str(name.encode())).splitlines():
        kind, ctype, parent = l.split("\t")
        kinds[kind] = (ctype, parent or None)
    return kinds


class UsageError(KpmError):
    """The arguments were refused (the message names the option)."""


class Core:
    """The C decoder core bound to one drgn Program."""

    def __init__(self, prog: drgn.Program) -> None:
        self.prog = prog
        self.lib = _load()
        self._types = {}
        self._syms = None
        # Keep the ctypes callbacks alive as long as the Core.
        self._cb = _Callbacks(_READ(self._read), _SYMBOL(self._symbol),
                              _MEMBER(self._member), _TYPE_SIZE(self._type_size),
                              _ENUM_VALUE(self._enum_value), _SYMBOL_AT(self._symbol_at),
                              self._arch_name().encode(), _dump_path(prog))

    def _arch_name(self):
        """The dump's architecture as drgn's platform names it ("X86_64",
        "AARCH64"); the core's pointer checks follow it."""
        platform = self.prog.platform
        return platform.arch.name if platform is not None else "unknown"

    # The target interface, implemented with drgn.

    def _read(self, addr, buf, size):
        try:
            data = self.prog.read(addr, size)
        except (drgn.FaultError, ValueError, OverflowError):
            return -1
        ctypes.memmove(buf, data, size)
        return 0

    def _symbol(self, name, out):
        # The variable's address from its debug info first: drgn's symbol
        # table shifts per-CPU symbols (.data..percpu, offsets linked at 0)
        # by the KASLR offset like any other; the object's address is right.
        name = name.decode()
        try:
            out[0] = self.prog.object(name).address_
            if out[0] is not None:
                return 0
        except (LookupError, TypeError, ValueError):
            pass
        try:
            out[0] = self.prog.symbol(name).address
            return 0
        except LookupError:
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

    def _member(self, type_name, member, out):
        """Byte offset and size of a member; for a bitfield also its bit
        offset and width (out: off, size, bit_off, bit_size)."""
        t = self._type(type_name.decode())
        if not t:
            return -1
        try:
            found = _find_member(t, member.decode(), 0)
        except (TypeError, ValueError):
            return -1
        if found is None:
            return -1
        bit_off, m = found
        try:
            size = drgn.sizeof(m.type)
        except TypeError:
            size = 0  # a flexible array member, as crash reports it
        out[0] = bit_off // 8
        out[1] = size
        out[2] = bit_off if m.bit_field_size else 0
        out[3] = m.bit_field_size or 0
        return 0

    def _symtab(self):
        """Every named code or data symbol, sorted by address: what kallsyms
        (and crash) search, so that an inner label such as
        entry_SYSCALL_64_after_hwframe names the address the way the
        kernel's own %pS does, where prog.symbol() would give the sized
        symbol containing it."""
        if self._syms is None:
            skip = (drgn.SymbolKind.SECTION, drgn.SymbolKind.FILE)
            # Among aliases %pS names the first in kallsyms' order: for the
            # kernel image scripts/kallsyms.c's compare_symbols() puts weak
            # symbols last, then those a linker script may provide
            # (__start_X, __X_end, ...), then more leading underscores; a
            # module's lookup takes the first in its symtab, where locals
            # come before globals.  prog.symbols() keeps neither order, so
            # rank by both.
            weak = drgn.SymbolBinding.WEAK
            rank = {drgn.SymbolBinding.LOCAL: 0, drgn.SymbolBinding.GLOBAL: 1}
            syms = sorted((s.address, (s.binding == weak, _linker_provided(s.name),
                                       len(s.name) - len(s.name.lstrip("_")),
                                       rank.get(s.binding, 2)), i, s.name)
                          for i, s in enumerate(self.prog.symbols())
                          # ARM/AArch64 mapping symbols ($x, $d): nm hides them,
                          # so kallsyms, crash and %pS never name them
                          if s.name and s.kind not in skip and s.address and s.name[0] != "$")
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

    # Decoders.

    def run(self, argv) -> str:
        """Run a command of the core's registry (argv[0] is its name) and
        return its output; UsageError for refused arguments, KpmError when
        the decoder fails."""
        args = (ctypes.c_char_p * len(argv))(*[a.encode() for a in argv])
        out = ctypes.c_void_p()
        err = ctypes.create_string_buffer(256)
        ret = self.lib.kpm_run_str(ctypes.byref(self._cb), len(argv), args, ctypes.byref(out),
                                   err, len(err))
        text = _string(out.value)
        if ret == -2:
            raise UsageError(err.value.decode(errors="replace"))
        if ret < 0:
            # what the report printed before it failed, as crash shows it
            e = KpmError(err.value.decode(errors="replace"))
            e.output = text
            raise e
        return text

    def run_to(self, file, argv) -> None:
        """Run a command as run() does, writing its output to @file (a file
        object with a file descriptor) as it goes instead of returning it."""
        file.flush()
        args = (ctypes.c_char_p * len(argv))(*[a.encode() for a in argv])
        err = ctypes.create_string_buffer(256)
        ret = self.lib.kpm_run_fd(ctypes.byref(self._cb), len(argv), args, file.fileno(),
                                  err, len(err))
        if ret == -2:
            raise UsageError(err.value.decode(errors="replace"))
        if ret < 0:
            raise KpmError(err.value.decode(errors="replace"))

    def objects(self, name: str, kind: str, parent: int = 0):
        """(addresses, error): the addresses of a decoder's objects of one
        kind; error is "" unless the walk stopped early."""
        limit = 1024
        while True:
            arr = (ctypes.c_uint64 * limit)()
            err = ctypes.create_string_buffer(256)
            n = self.lib.kpm_objects_cb(ctypes.byref(self._cb), name.encode(), kind.encode(),
                                        parent, arr, limit, err, len(err))
            if n < 0:
                raise KpmError(err.value.decode(errors="replace"))
            if n <= limit:
                return list(arr[:n]), err.value.decode(errors="replace")
            limit = n
