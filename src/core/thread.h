// Background threads (log writers, span exporters): named for ps/top, and scheduled so that they
// never take the core from a worker when they wake up.
//
// Contract: call on the thread itself, first thing. Linux: the name is cut to 15 bytes; the policy
// is SCHED_BATCH (same share of CPU as any thread, but a wake-up does not preempt the thread that
// is running: a worker serving requests finishes its time slice, and the background work runs
// next). Returns false when the policy could not be set (another OS, a sandbox that forbids it):
// the thread runs all the same, and callers need not check.
#pragma once

namespace portico::core {

bool become_background_thread(const char* name);

}  // namespace portico::core
