package serve

import (
	"bytes"
	"os"
	"strconv"
)

// appendProcessMetrics appends the process_* metrics Prometheus clients export, read
// from /proc/self (clock ticks of 1/100 s, as on every Linux architecture Go supports
// but alpha).
func appendProcessMetrics(b []byte) []byte {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return b
	}
	// The fields after the command name, which is in parentheses and may hold spaces:
	// f[0] is field 3 (state) of proc(5).
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return b
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 22 {
		return b
	}
	num := func(field int) float64 {
		v, _ := strconv.ParseFloat(string(f[field-3]), 64)
		return v
	}
	const ticks = 100
	b = promLine(b, "counter", "process_cpu_seconds_total", (num(14)+num(15))/ticks)
	b = promLine(b, "gauge", "process_virtual_memory_bytes", num(23))
	b = promLine(b, "gauge", "process_resident_memory_bytes", num(24)*float64(os.Getpagesize()))
	if boot := bootTime(); boot > 0 {
		b = promLine(b, "gauge", "process_start_time_seconds", boot+num(22)/ticks)
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		b = promLine(b, "gauge", "process_open_fds", float64(len(fds)))
	}
	return b
}

// bootTime returns the btime line of /proc/stat, in Unix seconds, or 0.
func bootTime() float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			t, _ := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
			return t
		}
	}
	return 0
}
