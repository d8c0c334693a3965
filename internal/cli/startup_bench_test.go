//go:build linux

package cli_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/mosquittotest"
)

// BenchmarkStartPub measures start to exit of `mqttx pub -t t -m x` (one QoS 0 message)
// against `mosquitto_pub -t t -m x`, to the same local mosquitto, alternating one run of
// each per iteration. It reports the median of each in milliseconds, their ratio and the
// peak resident memory of each through /usr/bin/time when present (the figures of issue 8's performance goal):
//
//	go test -run '^$' -bench StartPub -benchtime 200x ./internal/cli/
//
// mqttx is built as `make build` builds it (stripped, -trimpath), not run as the test
// binary, whose own package init would be measured too.
func BenchmarkStartPub(b *testing.B) {
	if testing.Short() {
		b.Skip("builds mqttx and starts mosquitto")
	}
	mosquittoPub, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		b.Skipf("skipping: %v", err)
	}
	addr := mosquittotest.Start(b)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(b.TempDir(), "mqttx")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "../../cmd/mqttx")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(name string, args ...string) time.Duration {
		cmd := exec.Command(name, args...)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", name, err, out)
		}
		return time.Since(start)
	}
	var ours, theirs []time.Duration
	b.ResetTimer()
	for range b.N {
		theirs = append(theirs, run(mosquittoPub, "-h", host, "-p", port, "-t", "t", "-m", "x"))
		ours = append(ours, run(bin, "pub", "-h", host, "-p", port, "-t", "t", "-m", "x"))
	}
	b.StopTimer()
	// Peak memory through GNU time, which forks a small process: a child of this test
	// binary inherits its peak in ru_maxrss.
	maxRSS := func(name string, args ...string) float64 {
		out, err := exec.Command("/usr/bin/time", append([]string{"-f", "maxrss %M", name}, args...)...).CombinedOutput()
		if err != nil {
			b.Fatalf("/usr/bin/time %s: %v\n%s", name, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		kb, err := strconv.ParseFloat(strings.TrimPrefix(lines[len(lines)-1], "maxrss "), 64)
		if err != nil {
			b.Fatalf("/usr/bin/time %s: %q", name, out)
		}
		return kb
	}
	median := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)/2]) / float64(time.Millisecond)
	}
	m, p := median(ours), median(theirs)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(m, "mqttx-ms")
	b.ReportMetric(p, "mosquitto_pub-ms")
	b.ReportMetric(m/p, "ratio")
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		b.ReportMetric(maxRSS(bin, "pub", "-h", host, "-p", port, "-t", "t", "-m", "x"), "mqttx-maxrss-KiB")
		b.ReportMetric(maxRSS(mosquittoPub, "-h", host, "-p", port, "-t", "t", "-m", "x"), "mosquitto_pub-maxrss-KiB")
	}
}
