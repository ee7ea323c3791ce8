/** Symbols of `<sched.h>`. @module */

export const sched = {
  // int sched_yield(void);
  sched_yield: { parameters: [], result: "i32" },
} as const;
