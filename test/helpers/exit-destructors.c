/*
 * Preloaded into node by test/process-exit.test.ts, never into the library.
 *
 * Reports every destructor registered to run at exit() (C++ statics register theirs through
 * __cxa_atexit), naming the library that registered it, then registers it as libc would.
 * process.exit() runs those destructors while threads of the libuv pool and the addon's own
 * threads are still running, so a static of the addon that such a thread uses must have none.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

typedef int (*cxa_atexit_fn)(void (*)(void*), void*, void*);

int __cxa_atexit(void (*func)(void*), void* arg, void* dso) {
  static cxa_atexit_fn next;
  if (!next) next = (cxa_atexit_fn)dlsym(RTLD_NEXT, "__cxa_atexit");
  Dl_info owner, target;
  /* dso is the registering library's __dso_handle, a symbol inside that library. */
  if (dso && dladdr(dso, &owner) && owner.dli_fname) {
    const char* name = dladdr((void*)func, &target) && target.dli_sname ? target.dli_sname : "?";
    fprintf(stderr, "exit-time destructor of %s: %s\n", owner.dli_fname, name);
  }
  return next(func, arg, dso);
}
