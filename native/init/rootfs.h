// Building the container's filesystem: safe path resolution inside the rootfs, the
// rootfsOps, pivot_root, and the post-pivot masking/readonly/sysctl steps.
#pragma once

#include <string>

#include "plan.h"

enum class MakeLast { None, Dir, File };

// Opens path (O_PATH) inside the tree rooted at rootfd: symlinks resolve within it and
// never out of it; magic links are refused. Returns -1 with errno on failure.
int open_in_root(int rootfd, const std::string& path, int extra_flags = 0);

// Like open_in_root, creating missing directories on the way (and the last component as a
// directory or empty file, per last) with mkdirat/openat on fds. Returns -1 with errno.
int make_path_in_root(int rootfd, const std::string& path, MakeLast last);

// Sets "/" propagation, binds plan.rootfs onto itself and returns an O_PATH fd of it.
// Without a mount namespace of its own (setup_propagation 0) it only opens the rootfs.
int prepare_rootfs(const Plan& plan);

// Runs plan.rootfs_ops in order against rootfd. Returns the fd of the rootfs to enter: after
// a mount on "/" that is the new mount's (the fd given is then closed).
int run_rootfs_ops(const Plan& plan, int rootfd);

// Makes the rootfs the root ("/") of this mount namespace and chdirs there; without a
// mount namespace of its own, chroots into it instead (changing no mount).
void enter_rootfs(const Plan& plan, int rootfd);

// Steps applied after enter_rootfs, on the container's own view of its filesystem.
void apply_sysctl(const Plan& plan);
void apply_readonly_paths(const Plan& plan);
void apply_masked_paths(const Plan& plan);
void make_root_readonly();
// Gives the container's "/" linux.rootfsPropagation, last: unbindable would stop the binds
// that readonly and masked paths make.
void apply_root_propagation(const Plan& plan);
// Makes plan.late_readonly_mounts read-only (the mount itself, not the ones below it).
void finish_readonly_mounts(const Plan& plan);
