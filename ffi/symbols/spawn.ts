/** Symbols of `<spawn.h>` and `<sys/wait.h>` used to start and reap children. @module */

export const spawn = {
  // int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *file_actions,
  //                 const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]);
  posix_spawn: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "pointer"],
    result: "i32",
  },
  // int posix_spawn_file_actions_init(posix_spawn_file_actions_t *file_actions);
  posix_spawn_file_actions_init: { parameters: ["buffer"], result: "i32" },
  // int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *file_actions);
  posix_spawn_file_actions_destroy: { parameters: ["buffer"], result: "i32" },
  // int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *file_actions, int fd, int newfd);
  posix_spawn_file_actions_adddup2: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  // int posix_spawn_file_actions_addclose(posix_spawn_file_actions_t *file_actions, int fd);
  posix_spawn_file_actions_addclose: { parameters: ["buffer", "i32"], result: "i32" },
  // int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *file_actions, int from);
  posix_spawn_file_actions_addclosefrom_np: { parameters: ["buffer", "i32"], result: "i32" },
  // int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *file_actions, const char *path);
  posix_spawn_file_actions_addchdir_np: { parameters: ["buffer", "buffer"], result: "i32" },
  // int posix_spawnattr_init(posix_spawnattr_t *attr);
  posix_spawnattr_init: { parameters: ["buffer"], result: "i32" },
  // int posix_spawnattr_destroy(posix_spawnattr_t *attr);
  posix_spawnattr_destroy: { parameters: ["buffer"], result: "i32" },
  // int posix_spawnattr_setflags(posix_spawnattr_t *attr, short flags);
  posix_spawnattr_setflags: { parameters: ["buffer", "i16"], result: "i32" },
  // int posix_spawnattr_setsigmask(posix_spawnattr_t *attr, const sigset_t *sigmask);
  posix_spawnattr_setsigmask: { parameters: ["buffer", "buffer"], result: "i32" },
  // int posix_spawnattr_setsigdefault(posix_spawnattr_t *attr, const sigset_t *sigdefault);
  posix_spawnattr_setsigdefault: { parameters: ["buffer", "buffer"], result: "i32" },
  // int posix_spawnattr_setpgroup(posix_spawnattr_t *attr, pid_t pgroup);
  posix_spawnattr_setpgroup: { parameters: ["buffer", "i32"], result: "i32" },
  // pid_t waitpid(pid_t pid, int *wstatus, int options);
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  // int pidfd_open(pid_t pid, unsigned int flags);
  pidfd_open: { parameters: ["i32", "u32"], result: "i32" },
  // int pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags);
  pidfd_send_signal: { parameters: ["i32", "i32", "pointer", "u32"], result: "i32" },
  // extern char **environ;
  environ: { type: "pointer" },
} as const;
