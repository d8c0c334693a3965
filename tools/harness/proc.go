package harness

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat. Linux fixes it at
// 100 for user space whatever the kernel's HZ.
const clockTick = 10 * time.Millisecond

// ProcCPU returns the user plus system CPU time consumed so far by process pid (all its
// threads), from /proc/PID/stat. Its resolution is 10ms; measure enough work.
func ProcCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read CPU time of process %d: %w", pid, err)
	}
	return parseStatCPU(data)
}

// parseStatCPU extracts utime+stime (fields 14 and 15) from a /proc/PID/stat line. The
// command name (field 2) may contain spaces and parentheses, so fields are counted after
// its last ')'.
func parseStatCPU(data []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc stat line %q", truncate(data))
	}
	fields := bytes.Fields(data[i+1:])
	// fields[0] is field 3 (state); utime is field 14, stime field 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("malformed /proc stat line %q", truncate(data))
	}
	ut, err1 := strconv.ParseUint(string(fields[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(fields[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed utime/stime in /proc stat line %q", truncate(data))
	}
	return time.Duration(ut+st) * clockTick, nil
}

// ProcRSS returns the resident set size of process pid in bytes (VmRSS in
// /proc/PID/status).
func ProcRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	return parseStatusRSS(data)
}

func parseStatusRSS(data []byte) (int64, error) {
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("malformed VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed VmRSS line %q", line)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no VmRSS line in /proc status (kernel thread or zombie?)")
}

func truncate(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

// cpuMeter samples a process's CPU time; a zero pid measures nothing.
type cpuMeter struct {
	pid   int
	start time.Duration
	err   error
}

func startCPU(pid int) *cpuMeter {
	m := &cpuMeter{pid: pid}
	if pid > 0 {
		m.start, m.err = ProcCPU(pid)
	}
	return m
}

// stop returns the CPU time used since startCPU (0 when no process is measured).
func (m *cpuMeter) stop() (time.Duration, error) {
	if m.pid <= 0 {
		return 0, nil
	}
	if m.err != nil {
		return 0, m.err
	}
	end, err := ProcCPU(m.pid)
	if err != nil {
		return 0, err
	}
	return end - m.start, nil
}
