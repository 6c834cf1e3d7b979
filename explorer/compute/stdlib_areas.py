"""Which chapter of the Python 3.11 Library Reference documents each top-level stdlib module.

Filled by hand from the table of contents of docs.python.org/3.11/library/. It
gives the demo set (`explorer.compute.demo`) a real, human-made grouping to
colour and compare by.

A few modules the reference does not document on their own page are put in
the chapter of the public module they implement (marked "implements ..."
below): e.g. `posixpath` is `os.path`, `sre_parse` belongs to `re`, `opcode`
to `dis`, `encodings` is described with `codecs`, IDLE (`idlelib`) has its page
in the Tk chapter. Modules with no such home (`this`, `antigravity`) are
"Other".
"""

from __future__ import annotations

OTHER = "Other"

# Chapter titles, shortened, in the order of the Library Reference.
AREAS: tuple[str, ...] = (
    "Text Processing",
    "Binary Data",
    "Data Types",
    "Numeric and Math",
    "Functional Programming",
    "File and Directory Access",
    "Data Persistence",
    "Data Compression and Archiving",
    "File Formats",
    "Cryptographic Services",
    "Generic OS Services",
    "Concurrent Execution",
    "Networking and IPC",
    "Internet Data Handling",
    "Structured Markup",
    "Internet Protocols",
    "Multimedia",
    "Internationalization",
    "Program Frameworks",
    "Graphical User Interfaces (Tk)",
    "Development Tools",
    "Debugging and Profiling",
    "Software Packaging",
    "Python Runtime Services",
    "Custom Interpreters",
    "Importing Modules",
    "Python Language Services",
    "MS Windows",
    "Unix Specific",
    "Superseded",
)

_CHAPTERS: dict[str, tuple[str, ...]] = {
    "Text Processing": (
        "string", "re", "difflib", "textwrap", "unicodedata", "stringprep", "readline",
        "rlcompleter",
        "sre_compile", "sre_constants", "sre_parse",  # implements re
    ),
    "Binary Data": (
        "struct", "codecs",
        "encodings",  # the codec packages, described in codecs
    ),
    "Data Types": (
        "datetime", "zoneinfo", "calendar", "collections", "heapq", "bisect", "array",
        "weakref", "types", "copy", "pprint", "reprlib", "enum", "graphlib",
    ),
    "Numeric and Math": (
        "numbers", "math", "cmath", "decimal", "fractions", "random", "statistics",
    ),
    "Functional Programming": ("itertools", "functools", "operator"),
    "File and Directory Access": (
        "pathlib", "fileinput", "stat", "filecmp", "tempfile", "glob", "fnmatch", "linecache",
        "shutil",
        "genericpath", "posixpath", "ntpath",  # implement os.path
    ),
    "Data Persistence": ("pickle", "copyreg", "shelve", "marshal", "dbm", "sqlite3"),
    "Data Compression and Archiving": ("zlib", "gzip", "bz2", "lzma", "zipfile", "tarfile"),
    "File Formats": ("csv", "configparser", "tomllib", "netrc", "plistlib"),
    "Cryptographic Services": ("hashlib", "hmac", "secrets"),
    "Generic OS Services": (
        "os", "io", "time", "argparse", "getopt", "logging", "getpass", "curses", "platform",
        "errno", "ctypes",
        "nt",  # the Windows counterpart of posix, behind os
    ),
    "Concurrent Execution": (
        "threading", "multiprocessing", "concurrent", "subprocess", "sched", "queue",
        "contextvars", "_thread",
    ),
    "Networking and IPC": ("asyncio", "socket", "ssl", "select", "selectors", "signal", "mmap"),
    "Internet Data Handling": (
        "email", "json", "mailbox", "mimetypes", "base64", "binascii", "quopri",
    ),
    "Structured Markup": (
        "html", "xml",
        "pyexpat",  # xml.parsers.expat
    ),
    "Internet Protocols": (
        "webbrowser", "wsgiref", "urllib", "http", "ftplib", "poplib", "imaplib", "smtplib",
        "uuid", "socketserver", "xmlrpc", "ipaddress",
        "nturl2path",  # implements urllib.request's pathname2url on Windows
    ),
    "Multimedia": ("wave", "colorsys"),
    "Internationalization": ("gettext", "locale"),
    "Program Frameworks": (
        "turtle", "cmd", "shlex",
        "turtledemo",  # the turtle demo viewer, described in turtle
    ),
    "Graphical User Interfaces (Tk)": (
        "tkinter",
        "idlelib",  # IDLE
    ),
    "Development Tools": (
        "typing", "pydoc", "doctest", "unittest", "lib2to3", "test",
        "pydoc_data",  # pydoc's topic data
    ),
    "Debugging and Profiling": (
        "bdb", "faulthandler", "pdb", "profile", "cProfile", "pstats", "timeit", "trace",
        "tracemalloc",
    ),
    "Software Packaging": ("distutils", "ensurepip", "venv", "zipapp"),
    "Python Runtime Services": (
        "sys", "sysconfig", "builtins", "__main__", "warnings", "dataclasses", "contextlib",
        "abc", "atexit", "traceback", "__future__", "gc", "inspect", "site",
    ),
    "Custom Interpreters": ("code", "codeop"),
    "Importing Modules": ("zipimport", "pkgutil", "modulefinder", "runpy", "importlib"),
    "Python Language Services": (
        "ast", "symtable", "token", "keyword", "tokenize", "tabnanny", "pyclbr", "py_compile",
        "compileall", "dis", "pickletools",
        "opcode",  # implements dis's opcode tables
    ),
    "MS Windows": ("msvcrt", "winreg", "winsound"),
    "Unix Specific": (
        "posix", "pwd", "grp", "termios", "tty", "pty", "fcntl", "resource", "syslog",
    ),
    "Superseded": (  # the 3.11 "Superseded Modules" chapter (PEP 594 and optparse, imp)
        "aifc", "asynchat", "asyncore", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr",
        "imp", "mailcap", "msilib", "nis", "nntplib", "optparse", "ossaudiodev", "pipes",
        "smtpd", "sndhdr", "spwd", "sunau", "telnetlib", "uu", "xdrlib",
    ),
}

STDLIB_AREAS: dict[str, str] = {
    module: area for area, modules in _CHAPTERS.items() for module in modules
}


def area_of(module: str) -> str:
    """The chapter of a (dotted) stdlib module name, by its top-level package."""
    return STDLIB_AREAS.get(module.split(".", 1)[0], OTHER)


__all__ = ["AREAS", "OTHER", "STDLIB_AREAS", "area_of"]
