#include "attrs.h"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sync.h"

namespace {

// struct sched_attr, SCHED_ATTR_SIZE_VER1 (the util clamp flags need this size).
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};
static_assert(sizeof(SchedAttr) == 56, "SCHED_ATTR_SIZE_VER1");

constexpr unsigned kIoprioWhoProcess = 1;
// The largest CPU number runc's reset covers; the kernel clamps the mask to its own size.
constexpr unsigned kMaxCpu = 64 * 1024;

// A bitmask of 64-bit words with the ranges set, plus one spare bit: set_mempolicy reads
// maxnode - 1 bits.
std::vector<unsigned long> bitmask(const std::vector<CpuRange>& ranges) {
  unsigned highest = 0;
  for (const CpuRange& r : ranges) highest = r.last > highest ? r.last : highest;
  std::vector<unsigned long> mask((highest + 1) / 64 + 1, 0);
  for (const CpuRange& r : ranges)
    for (unsigned i = r.first; i <= r.last; i++) mask[i / 64] |= 1UL << (i % 64);
  return mask;
}

void set_affinity(const std::vector<CpuRange>& ranges, const char* what) {
  std::vector<unsigned long> mask = bitmask(ranges);
  if (syscall(SYS_sched_setaffinity, 0, mask.size() * sizeof(unsigned long), mask.data()) != 0)
    fail_errno(std::string("error setting ") + what + " CPU affinity");
}

// Every CPU, whatever the runtime was pinned to; the kernel keeps only the cpuset's CPUs.
void reset_affinity() {
  std::vector<unsigned long> all(kMaxCpu / 64, ~0UL);
  if (syscall(SYS_sched_setaffinity, 0, all.size() * sizeof(unsigned long), all.data()) != 0)
    channel::send_message("warning", error_text("resetting the CPU affinity failed (the process may inherit the runtime's)", errno));
}

uint64_t parse_nanoseconds(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long n = strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0) fail("invalid init plan: scheduler time \"" + text + "\"");
  return n;
}

void apply_scheduler(const Scheduler& s) {
  SchedAttr attr = {};
  attr.size = sizeof attr;
  attr.sched_policy = s.policy;
  attr.sched_flags = s.flags;
  attr.sched_nice = s.nice;
  attr.sched_priority = s.priority;
  attr.sched_runtime = parse_nanoseconds(s.runtime);
  attr.sched_deadline = parse_nanoseconds(s.deadline);
  attr.sched_period = parse_nanoseconds(s.period);
  if (syscall(SYS_sched_setattr, 0, &attr, 0) == 0) return;
  int err = errno;
  bool realtime = s.policy == SCHED_FIFO || s.policy == SCHED_RR;
  // With RT group scheduling a new cgroup has no real-time budget until it is given one.
  if (err == EPERM && realtime)
    fail(error_text("error setting scheduler", err) +
         " (a real-time policy needs real-time CPU time in the container's cpu cgroup: linux.resources.cpu.realtimeRuntime)");
  fail(error_text("error setting scheduler", err));
}

void apply_memory_policy(const MemoryPolicy& policy) {
  std::vector<unsigned long> mask;
  if (!policy.nodes.empty()) mask = bitmask(policy.nodes);
  unsigned long maxnode = mask.size() * 64;
  if (syscall(SYS_set_mempolicy, policy.mode, mask.empty() ? nullptr : mask.data(), maxnode) != 0)
    fail_errno("set_mempolicy");
}

// Opens /proc/thread-self/<attr> for writing and checks it is procfs (security rule 8).
int open_proc_attr(const std::string& attr) {
  std::string path = "/proc/thread-self/" + attr;
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct statfs st;
  if (fstatfs(fd, &st) != 0 || st.f_type != PROC_SUPER_MAGIC) fail(path + " is not on procfs");
  return fd;
}

void write_proc_attr(int fd, const std::string& path, const std::string& value, const std::string& context) {
  if (write(fd, value.data(), value.size()) != ssize_t(value.size())) fail_errno(context + "write " + path);
  close(fd);
}

}  // namespace

void apply_initial_affinity(const ProcessAttrs& attrs) {
  if (attrs.has_initial_affinity) set_affinity(attrs.initial_affinity, "initial");
}

void apply_process_attrs(const ProcessAttrs& attrs, bool exec) {
  if (!exec) reset_affinity();
  if (attrs.has_scheduler) apply_scheduler(attrs.scheduler);
  if (attrs.has_io_priority && syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, attrs.io_priority) != 0)
    fail_errno("failed to set io priority");
  if (attrs.has_personality && personality((unsigned long)attrs.personality) == -1) fail_errno("personality");
  if (attrs.has_memory_policy) apply_memory_policy(attrs.memory_policy);
}

void apply_final_affinity(const ProcessAttrs& attrs) {
  if (attrs.has_final_affinity) set_affinity(attrs.final_affinity, "final");
  else if (!attrs.has_initial_affinity) reset_affinity();
}

void write_exec_labels(const ProcessAttrs& attrs) {
  if (!attrs.apparmor_profile.empty()) {
    // The AppArmor-specific file when the kernel has it (stacked LSMs), else the shared one.
    std::string attr = "attr/apparmor/exec";
    int fd = open_proc_attr(attr);
    if (fd < 0 && errno == ENOENT) fd = open_proc_attr(attr = "attr/exec");
    const std::string context = "unable to apply apparmor profile: apparmor failed to apply profile: ";
    if (fd < 0) fail_errno(context + "open /proc/thread-self/" + attr);
    write_proc_attr(fd, "/proc/thread-self/" + attr, "exec " + attrs.apparmor_profile, context);
  }
  if (!attrs.selinux_label.empty()) {
    const std::string context = "can't set process label: ";
    int fd = open_proc_attr("attr/exec");
    if (fd < 0) fail_errno(context + "open /proc/thread-self/attr/exec");
    write_proc_attr(fd, "/proc/thread-self/attr/exec", attrs.selinux_label, context);
  }
}
