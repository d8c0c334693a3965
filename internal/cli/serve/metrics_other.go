//go:build !linux

package serve

// appendProcessMetrics has no process_* metrics to add off Linux; the go_* ones are
// written everywhere.
func appendProcessMetrics(b []byte) []byte { return b }
