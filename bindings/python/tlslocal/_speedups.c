/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tlslocal._speedups: the attribute hot path of tlslocal.local in C, the optional accelerator of
 * the ctypes binding (_accelerator.py finds it; TLSLOCAL_PURE_PYTHON=1 refuses it).
 *
 * It does what local.__getattribute__ and local.__setattr__ (_local.py) do on their fast paths: a
 * read that the thread's cache answers while the change counter stands still, and a write of a
 * plain scalar with C's typed setter. Everything else (first use in a thread, names the class
 * defines, cache misses, containers, objects without a GVariant form, errors) is handed to those
 * Python methods unchanged, so both paths share one set of rules and one test suite.
 *
 * One libtlslocal per process: named locals, per-thread dictionaries and change counters belong to
 * one copy of the library. The ctypes loader (_ffi._load) already decides which file that is
 * (already loaded, TLSLOCAL_LIBRARY, bundled, meson install, dynamic linker); a DT_NEEDED entry
 * here would let the dynamic linker pick its own, perhaps another, copy. So this module is not
 * linked with libtlslocal: install() receives the addresses of the functions of the library ctypes
 * loaded (ctypes.cast(lib.tl_x, c_void_p).value), and tlslocal.h serves only for their types. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <stdint.h>
#include <string.h>

#include "tlslocal.h"

/* Python 3.8 lacks Py_T_OBJECT_EX (3.12); T_OBJECT_EX is the same value. */
#ifndef Py_T_OBJECT_EX
#  define Py_T_OBJECT_EX T_OBJECT_EX
#endif

/* Python 3.8 lacks Py_IS_TYPE (3.9). */
#ifndef Py_IS_TYPE
#  define Py_IS_TYPE(ob, type) (Py_TYPE(ob) == (type))
#endif

#define SMALL_INT_MIN (-5)
#define SMALL_INT_MAX 256

typedef int (*SetFunc)(TlLocal *, const char *, TlValue *);
typedef int (*SetInt64Func)(TlLocal *, const char *, int64_t);
typedef int (*SetUint64Func)(TlLocal *, const char *, uint64_t);
typedef int (*SetDoubleFunc)(TlLocal *, const char *, double);
typedef int (*SetStringFunc)(TlLocal *, const char *, const char *);
typedef const volatile uint64_t *(*CounterFunc)(void);

#ifdef __GNUC__
/* The addresses arrive as integers: the compiler checks here that these types are the header's. */
#  define SAME_TYPE(func, type)                                                                    \
    _Static_assert(__builtin_types_compatible_p(__typeof__(&func), type), #func)
SAME_TYPE(tl_local_set, SetFunc);
SAME_TYPE(tl_local_set_int64, SetInt64Func);
SAME_TYPE(tl_local_set_uint64, SetUint64Func);
SAME_TYPE(tl_local_set_double, SetDoubleFunc);
SAME_TYPE(tl_local_set_string, SetStringFunc);
SAME_TYPE(tl_thread_change_counter, CounterFunc);
#endif

/* What install() was given; the module is used by one interpreter (single-phase init). */
static struct {
  int installed;
  SetFunc set;
  SetInt64Func set_int64;
  SetUint64Func set_uint64;
  SetDoubleFunc set_double;
  SetStringFunc set_string;
  CounterFunc counter;
  /* Slot offsets: local._local__impl; ThreadState t, cache, held, h; Epoch known. */
  Py_ssize_t impl, st_t, st_cache, st_held, st_h, epoch_known;
  PyTypeObject *thread_state_type, *epoch_type;
  PyObject *st_name;                          /* "st": _Impl's per-thread attribute */
  PyObject *absent;                           /* _dict.ABSENT */
  PyObject *keys;                             /* _dict.KEYS: name -> key bytes */
  PyObject *getattribute, *setattr, *delattr; /* the pure local's methods */
  PyObject *error_for, *unhold, *written;     /* _ffi.error_for, _dict.unhold, written */
  TlValue *small_ints[SMALL_INT_MAX - SMALL_INT_MIN + 1]; /* _convert's immortal values */
  TlValue *true_value, *false_value, *none_value;
} S;

#define SLOT(obj, offset) (*(PyObject **) ((char *) (obj) + (offset)))

/* This thread's ThreadState of self (a new reference), or NULL with no error set when the Python
 * method must take over: no state yet in this thread (its first use), or an unexpected shape. */
static PyObject *
thread_state(PyObject *self)
{
  PyObject *impl = SLOT(self, S.impl);
  PyObject *st;
  if (impl == NULL)
    return NULL;
  /* _Impl is a threading.local: the lookup finds this thread's "st". */
  st = PyObject_GetAttr(impl, S.st_name);
  if (st == NULL) {
    PyErr_Clear();
    return NULL;
  }
  if (Py_TYPE(st) != S.thread_state_type) {
    Py_DECREF(st);
    return NULL;
  }
  return st;
}

/* The epoch st's cache was filled under, and its count of changes accounted for; NULL if the slot
 * is not what _epoch makes. */
static PyObject *
epoch_of(PyObject *st, uint64_t *out_known)
{
  PyObject *t = SLOT(st, S.st_t);
  PyObject *known;
  if (t == NULL || Py_TYPE(t) != S.epoch_type)
    return NULL;
  known = SLOT(t, S.epoch_known);
  if (known == NULL || !PyLong_CheckExact(known))
    return NULL;
  *out_known = PyLong_AsUnsignedLongLong(known);
  if (*out_known == (uint64_t) -1 && PyErr_Occurred()) {
    PyErr_Clear();
    return NULL;
  }
  return t;
}

/* Whether name is one the class (or its bases) defines: those go through the class first, in the
 * Python method, as do all names that are not exact str. */
static int
class_defines(PyObject *self, PyObject *name)
{
  return !PyUnicode_CheckExact(name) || _PyType_Lookup(Py_TYPE(self), name) != NULL;
}

static PyObject *
local_getattro(PyObject *self, PyObject *name)
{
  PyObject *st;
  uint64_t known;
  if (!S.installed || class_defines(self, name))
    goto python;
  st = thread_state(self);
  if (st == NULL)
    goto python;
  if (epoch_of(st, &known) != NULL && *S.counter() == known) {
    PyObject *cache = SLOT(st, S.st_cache);
    if (cache != NULL && PyDict_CheckExact(cache)) {
      PyObject *value = PyDict_GetItemWithError(cache, name); /* borrowed */
      if (value != NULL && value != S.absent) {
        Py_INCREF(value);
        Py_DECREF(st);
        return value;
      }
      if (value == NULL && PyErr_Occurred()) {
        Py_DECREF(st);
        return NULL;
      }
    }
  }
  Py_DECREF(st);
python:
  return PyObject_CallFunctionObjArgs(S.getattribute, self, name, NULL);
}

/* Raise the binding's Error for a failed call's status, as _ffi.error_for() makes it: called at
 * once, before any other tl_* call, so that it reads the right last error message. */
static int
raise_status(int status)
{
  PyObject *error = PyObject_CallFunction(S.error_for, "i", status);
  if (error != NULL) {
    PyErr_SetObject((PyObject *) Py_TYPE(error), error);
    Py_DECREF(error);
  }
  return -1;
}

static int
is_plain_scalar(PyObject *value)
{
  PyTypeObject *kind = Py_TYPE(value);
  return kind == &PyUnicode_Type || kind == &PyLong_Type || kind == &PyFloat_Type ||
         kind == &PyBool_Type || value == Py_None;
}

/* One typed C call for value, an instance of a plain scalar type; 1 when value is not one this
 * path stores (the Python method does), else the call's status. */
static int
set_scalar(TlLocal *handle, const char *key, PyObject *value)
{
  PyTypeObject *kind = Py_TYPE(value);
  if (kind == &PyUnicode_Type) {
    Py_ssize_t size;
    const char *text = PyUnicode_AsUTF8AndSize(value, &size);
    if (text == NULL) { /* a lone surrogate */
      PyErr_Clear();
      return 1;
    }
    if (memchr(text, '\0', (size_t) size) != NULL)
      return 1;
    return S.set_string(handle, key, text);
  }
  if (kind == &PyLong_Type) {
    int overflow;
    long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow == 0) {
      if (number >= SMALL_INT_MIN && number <= SMALL_INT_MAX)
        return S.set(handle, key, S.small_ints[number - SMALL_INT_MIN]);
      return S.set_int64(handle, key, (int64_t) number);
    }
    if (overflow > 0) {
      unsigned long long unsigned_number = PyLong_AsUnsignedLongLong(value);
      if (unsigned_number == (unsigned long long) -1 && PyErr_Occurred()) {
        PyErr_Clear(); /* beyond 64 bits: kept on the Python side */
        return 1;
      }
      return S.set_uint64(handle, key, (uint64_t) unsigned_number);
    }
    return 1;
  }
  if (kind == &PyFloat_Type)
    return S.set_double(handle, key, PyFloat_AS_DOUBLE(value));
  if (kind == &PyBool_Type)
    return S.set(handle, key, value == Py_True ? S.true_value : S.false_value);
  if (value == Py_None)
    return S.set(handle, key, S.none_value);
  return 1;
}

/* After our write under name: account for it as _dict.written() does for a plain scalar, which is
 * cached only, never held. No Python object is allocated between the C call and the counter's
 * read, so no collection (and no finalizer's change) can come in between. */
static int
account(PyObject *st, PyObject *t, uint64_t known, PyObject *name, PyObject *key, PyObject *value)
{
  PyObject *now, *held, *done;
  if (*S.counter() != known + 1) { /* more than our write: the Python side sorts it out */
    done = PyObject_CallFunctionObjArgs(S.written, st, name, key, value, Py_None, NULL);
    Py_XDECREF(done);
    return done != NULL ? 0 : -1;
  }
  now = PyLong_FromUnsignedLongLong(known + 1);
  if (now == NULL)
    return -1;
  Py_SETREF(SLOT(t, S.epoch_known), now);
  if (PyDict_SetItem(SLOT(st, S.st_cache), name, value) < 0)
    return -1;
  held = SLOT(st, S.st_held);
  if (held != NULL && PyDict_CheckExact(held) && PyDict_GET_SIZE(held) > 0) {
    int contains = PyDict_Contains(held, name);
    if (contains < 0)
      return -1;
    if (contains) {
      done = PyObject_CallFunctionObjArgs(S.unhold, held, name, NULL);
      if (done == NULL)
        return -1;
      Py_DECREF(done);
    }
  }
  return 0;
}

static int
local_setattro(PyObject *self, PyObject *name, PyObject *value)
{
  PyObject *done, *key, *st, *t, *h;
  TlLocal *handle;
  uint64_t known;
  int status, result;
  if (value == NULL) {
    done = PyObject_CallFunctionObjArgs(S.delattr, self, name, NULL);
    goto python_done;
  }
  if (!S.installed || class_defines(self, name))
    goto python;
  if (!is_plain_scalar(value)) /* set_scalar() would refuse it: no time spent before that */
    goto python;
  key = PyDict_GetItemWithError(S.keys, name); /* borrowed; a name seen before */
  if (key == NULL) {
    if (PyErr_Occurred())
      return -1;
    goto python;
  }
  st = thread_state(self);
  if (st == NULL)
    goto python;
  t = epoch_of(st, &known);
  h = SLOT(st, S.st_h);
  if (t == NULL || h == NULL || !PyBytes_CheckExact(key)) {
    Py_DECREF(st);
    goto python;
  }
  handle = PyLong_AsVoidPtr(h);
  if (handle == NULL) {
    PyErr_Clear();
    Py_DECREF(st);
    goto python;
  }
  Py_INCREF(key); /* a finalizer run by the write may drop KEYS' entry */
  status = set_scalar(handle, PyBytes_AS_STRING(key), value);
  if (status == 1) {
    Py_DECREF(key);
    Py_DECREF(st);
    goto python;
  }
  result = status < 0 ? raise_status(status) : account(st, t, known, name, key, value);
  Py_DECREF(key);
  Py_DECREF(st);
  return result;
python:
  done = PyObject_CallFunctionObjArgs(S.setattr, self, name, value, NULL);
python_done:
  if (done == NULL)
    return -1;
  Py_DECREF(done);
  return 0;
}

static PyType_Slot local_base_slots[] = {
    {Py_tp_getattro, local_getattro},
    {Py_tp_setattro, local_setattro},
    {Py_tp_doc, "The C attribute methods of tlslocal.local (the accelerated path)."},
    {0, NULL},
};

static PyType_Spec local_base_spec = {
    .name = "tlslocal._speedups.LocalBase",
    .basicsize = 0, /* no fields of its own: local's layout stays _thread._local's plus its slot */
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .slots = local_base_slots,
};

/* ---- install -------------------------------------------------------------------------- */

static int
member_offset(PyObject *owner, const char *name, Py_ssize_t *out)
{
  PyObject *descr = PyObject_GetAttrString(owner, name);
  int ok;
  if (descr == NULL)
    return -1;
  ok = Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
       ((PyMemberDescrObject *) descr)->d_member->type == Py_T_OBJECT_EX;
  if (ok)
    *out = ((PyMemberDescrObject *) descr)->d_member->offset;
  else
    PyErr_Format(PyExc_TypeError, "%s is not an object slot", name);
  Py_DECREF(descr);
  return ok ? 0 : -1;
}

static void *
address_of(PyObject *functions, const char *name)
{
  PyObject *address = PyDict_GetItemString(functions, name);
  void *pointer = address != NULL ? PyLong_AsVoidPtr(address) : NULL;
  if (pointer == NULL && !PyErr_Occurred())
    PyErr_Format(PyExc_KeyError, "no address for %s", name);
  return pointer;
}

static int
value_address(PyObject *address, TlValue **out)
{
  *out = PyLong_AsVoidPtr(address);
  return *out == NULL ? -1 : 0;
}

#define KEEP(field, object)                                                                        \
  do {                                                                                             \
    Py_INCREF(object);                                                                             \
    Py_XSETREF(S.field, (object));                                                                 \
  } while (0)

PyDoc_STRVAR(install_doc,
             "install(functions, local, thread_state, epoch, absent, keys, error_for, unhold, "
             "written, small_ints, true, false, none)\n\n"
             "Bind the fast path to the binding's objects and to the libtlslocal functions at the "
             "addresses in functions (C name -> int), those of the library ctypes loaded.");

static PyObject *
install(PyObject *module, PyObject *args)
{
  PyObject *functions, *local, *thread_state_type, *epoch_type, *absent, *keys, *error_for;
  PyObject *unhold, *written, *small_ints, *true_value, *false_value, *none_value;
  PyObject *methods[3];
  static const char *const method_names[3] = {"__getattribute__", "__setattr__", "__delattr__"};
  if (!PyArg_ParseTuple(args, "O!OO!O!OO!OOOO!OOO:install", &PyDict_Type, &functions, &local,
                        &PyType_Type, &thread_state_type, &PyType_Type, &epoch_type, &absent,
                        &PyDict_Type, &keys, &error_for, &unhold, &written, &PyList_Type,
                        &small_ints, &true_value, &false_value, &none_value))
    return NULL;
  if (PyList_GET_SIZE(small_ints) != SMALL_INT_MAX - SMALL_INT_MIN + 1)
    return PyErr_Format(PyExc_ValueError, "small_ints: %d values expected",
                        SMALL_INT_MAX - SMALL_INT_MIN + 1);
  S.installed = 0;
  if (member_offset(local, "_local__impl", &S.impl) < 0 ||
      member_offset(thread_state_type, "t", &S.st_t) < 0 ||
      member_offset(thread_state_type, "cache", &S.st_cache) < 0 ||
      member_offset(thread_state_type, "held", &S.st_held) < 0 ||
      member_offset(thread_state_type, "h", &S.st_h) < 0 ||
      member_offset(epoch_type, "known", &S.epoch_known) < 0)
    return NULL;
  if (!(S.set = (SetFunc) address_of(functions, "tl_local_set")) ||
      !(S.set_int64 = (SetInt64Func) address_of(functions, "tl_local_set_int64")) ||
      !(S.set_uint64 = (SetUint64Func) address_of(functions, "tl_local_set_uint64")) ||
      !(S.set_double = (SetDoubleFunc) address_of(functions, "tl_local_set_double")) ||
      !(S.set_string = (SetStringFunc) address_of(functions, "tl_local_set_string")) ||
      !(S.counter = (CounterFunc) address_of(functions, "tl_thread_change_counter")))
    return NULL;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(small_ints); i++)
    if (value_address(PyList_GET_ITEM(small_ints, i), &S.small_ints[i]) < 0)
      return NULL;
  if (value_address(true_value, &S.true_value) < 0 ||
      value_address(false_value, &S.false_value) < 0 ||
      value_address(none_value, &S.none_value) < 0)
    return NULL;
  for (int i = 0; i < 3; i++) {
    /* The functions the pure class defines, looked up in its own namespace. */
    methods[i] = PyDict_GetItemString(((PyTypeObject *) local)->tp_dict, method_names[i]);
    if (methods[i] == NULL || !PyFunction_Check(methods[i]))
      return PyErr_Format(PyExc_TypeError, "local.%s is not a Python function", method_names[i]);
  }
  KEEP(getattribute, methods[0]);
  KEEP(setattr, methods[1]);
  KEEP(delattr, methods[2]);
  KEEP(thread_state_type, (PyTypeObject *) thread_state_type);
  KEEP(epoch_type, (PyTypeObject *) epoch_type);
  KEEP(absent, absent);
  KEEP(keys, keys);
  KEEP(error_for, error_for);
  KEEP(unhold, unhold);
  KEEP(written, written);
  if (S.st_name == NULL && (S.st_name = PyUnicode_InternFromString("st")) == NULL)
    return NULL;
  S.installed = 1;
  Py_RETURN_NONE;
}

static PyMethodDef speedups_methods[] = {
    {"install", install, METH_VARARGS, install_doc},
    {NULL, NULL, 0, NULL},
};

/* The interface _local.py expects: raised when the Python side changes what it hands over. */
#define SPEEDUPS_API 1

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "tlslocal._speedups",
    .m_doc = "The compiled attribute hot path of tlslocal.local (optional; see _accelerator.py).",
    .m_size = -1,
    .m_methods = speedups_methods,
};

PyMODINIT_FUNC PyInit__speedups(void);

PyMODINIT_FUNC
PyInit__speedups(void)
{
  PyObject *module = PyModule_Create(&speedups_module);
  PyObject *thread_module, *thread_local, *bases, *base;
  if (module == NULL)
    return NULL;
  /* A subclass of the C threading.local, as the pure local is (see local's docstring). */
  thread_module = PyImport_ImportModule("_thread");
  thread_local = thread_module != NULL ? PyObject_GetAttrString(thread_module, "_local") : NULL;
  Py_XDECREF(thread_module);
  /* A tuple: Python 3.8 takes no single type here. */
  bases = thread_local != NULL ? PyTuple_Pack(1, thread_local) : NULL;
  base = bases != NULL ? PyType_FromSpecWithBases(&local_base_spec, bases) : NULL;
  Py_XDECREF(bases);
  Py_XDECREF(thread_local);
  if (base == NULL || PyModule_AddIntConstant(module, "API", SPEEDUPS_API) < 0 ||
      PyModule_AddObject(module, "LocalBase", base) < 0) {
    Py_XDECREF(base);
    Py_DECREF(module);
    return NULL;
  }
  return module;
}
