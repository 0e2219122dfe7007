#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write a glibconfig.h for x86_64-w64-mingw32 (LLP64: long is 32 bits) from this machine's
x86_64 Linux one, for tools/mingw-check.sh: Debian has no GLib for Windows, but GLib's headers are
the same for every platform except this one generated file.

    make-glibconfig.py HOST_GLIBCONFIG_H OUTPUT_H

Each substitution must apply exactly as written, so a GLib whose glibconfig.h looks different fails
loudly here instead of yielding a header that lies about the target.
"""
import sys

SUBSTITUTIONS = [
    ("typedef signed long gint64;", "typedef signed long long gint64;"),
    ("typedef unsigned long guint64;", "typedef unsigned long long guint64;"),
    ("#define G_GINT64_CONSTANT(val)\t(val##L)", "#define G_GINT64_CONSTANT(val)\t(val##LL)"),
    ("#define G_GUINT64_CONSTANT(val)\t(val##UL)", "#define G_GUINT64_CONSTANT(val)\t(val##ULL)"),
    ('#define G_GINT64_MODIFIER "l"', '#define G_GINT64_MODIFIER "I64"'),
    ('#define G_GINT64_FORMAT "li"', '#define G_GINT64_FORMAT "I64i"'),
    ('#define G_GUINT64_FORMAT "lu"', '#define G_GUINT64_FORMAT "I64u"'),
    ("#define GLIB_SIZEOF_LONG   8", "#define GLIB_SIZEOF_LONG   4"),
    ("typedef signed long gssize;", "typedef signed long long gssize;"),
    ("typedef unsigned long gsize;", "typedef unsigned long long gsize;"),
    ('#define G_GSIZE_MODIFIER "l"', '#define G_GSIZE_MODIFIER "I64"'),
    ('#define G_GSSIZE_MODIFIER "l"', '#define G_GSSIZE_MODIFIER "I64"'),
    ('#define G_GSIZE_FORMAT "lu"', '#define G_GSIZE_FORMAT "I64u"'),
    ('#define G_GSSIZE_FORMAT "li"', '#define G_GSSIZE_FORMAT "I64i"'),
    ("#define G_MAXSIZE\tG_MAXULONG", "#define G_MAXSIZE\tG_MAXUINT64"),
    ("#define G_MINSSIZE\tG_MINLONG", "#define G_MINSSIZE\tG_MININT64"),
    ("#define G_MAXSSIZE\tG_MAXLONG", "#define G_MAXSSIZE\tG_MAXINT64"),
    ('#define G_POLLFD_FORMAT "%d"', '#define G_POLLFD_FORMAT "%#" G_GINT64_MODIFIER "x"'),
    ("((gint)  (glong) (p))", "((gint)  (gint64) (p))"),
    ("((guint) (gulong) (p))", "((guint) (guint64) (p))"),
    ("((gpointer) (glong) (i))", "((gpointer) (gint64) (i))"),
    ("((gpointer) (gulong) (u))", "((gpointer) (guint64) (u))"),
    ("typedef signed long gintptr;", "typedef signed long long gintptr;"),
    ("typedef unsigned long guintptr;", "typedef unsigned long long guintptr;"),
    ('#define G_GINTPTR_MODIFIER      "l"', '#define G_GINTPTR_MODIFIER      "I64"'),
    ('#define G_GINTPTR_FORMAT        "li"', '#define G_GINTPTR_FORMAT        "I64i"'),
    ('#define G_GUINTPTR_FORMAT       "lu"', '#define G_GUINTPTR_FORMAT       "I64u"'),
    ("#define G_OS_UNIX", "#define G_PLATFORM_WIN32\n#define G_OS_WIN32"),
    ("#define G_THREADS_IMPL_POSIX", "#define G_THREADS_IMPL_WIN32"),
    ("((glong) GINT64_TO_LE (val))", "((glong) GINT32_TO_LE (val))"),
    ("((gulong) GUINT64_TO_LE (val))", "((gulong) GUINT32_TO_LE (val))"),
    ("((glong) GINT64_TO_BE (val))", "((glong) GINT32_TO_BE (val))"),
    ("((gulong) GUINT64_TO_BE (val))", "((gulong) GUINT32_TO_BE (val))"),
    ("#define GLIB_HAVE_ALLOCA_H\n", ""),
    ('#define G_MODULE_SUFFIX "so"', '#define G_MODULE_SUFFIX "dll"'),
    ("typedef int GPid;", "typedef void * GPid;"),
    ('#define G_PID_FORMAT "i"', '#define G_PID_FORMAT "p"'),
    ("#define G_DIR_SEPARATOR '/'", "#define G_DIR_SEPARATOR '\\\\'"),
    ('#define G_DIR_SEPARATOR_S "/"', '#define G_DIR_SEPARATOR_S "\\\\"'),
    ("#define G_SEARCHPATH_SEPARATOR ':'", "#define G_SEARCHPATH_SEPARATOR ';'"),
    ('#define G_SEARCHPATH_SEPARATOR_S ":"', '#define G_SEARCHPATH_SEPARATOR_S ";"'),
]

with open(sys.argv[1], encoding="utf-8") as f:
    text = f.read()
for old, new in SUBSTITUTIONS:
    if text.count(old) != 1:
        sys.exit(f"make-glibconfig.py: {sys.argv[1]} does not contain {old!r} exactly once")
    text = text.replace(old, new)
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write("/* Made by tools/mingw/make-glibconfig.py for x86_64-w64-mingw32: compile checks only. */\n")
    f.write(text)
