/** Symbols of `<errno.h>` and `<string.h>` for error reporting. @module */

export const errno = {
  // int *__errno_location(void);  this thread's errno
  __errno_location: { parameters: [], result: "pointer" },
  // char *strerror(int errnum);
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;
