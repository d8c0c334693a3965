package broker_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
)

const childEnv = "MQTTX_BROKER_BENCH_CHILD"

// runChildBroker serves a broker on 127.0.0.1, prints its address and
// stops when stdin closes.
func runChildBroker() {
	o := broker.Options{MaxOutboundQueue: 1 << 20, MaxOfflineQueue: 1 << 20}
	if f := childOptions[os.Getenv(childEnv)]; f != nil {
		f(&o)
	}
	s := broker.New(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	go s.Serve(ln)
	io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.Shutdown(ctx)
}

// procCPU returns the user+system CPU time of process pid from /proc.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// startPeer starts our broker or mosquitto as a separate process and
// returns its address and a function reading its CPU time.
func startPeer(b *testing.B, name string) (string, func() time.Duration) {
	b.Helper()
	var cmd *exec.Cmd
	var addr string
	switch name {
	case "mqttx", "mqttx-acl", "mqttx-users":
		cmd = exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childEnv+"="+strings.TrimPrefix(strings.TrimPrefix(name, "mqttx"), "-")+"1")
		stdin, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { stdin.Close(); cmd.Wait() })
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			b.Fatalf("child broker: %v", err)
		}
		addr = strings.TrimSpace(line)
	case "mosquitto":
		bin, err := exec.LookPath("mosquitto")
		if err != nil {
			if _, err = os.Stat("/usr/sbin/mosquitto"); err != nil {
				b.Skip("mosquitto not installed")
			}
			bin = "/usr/sbin/mosquitto"
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
		_, port, _ := net.SplitHostPort(addr)
		conf := filepath.Join(b.TempDir(), "mosquitto.conf")
		os.WriteFile(conf, []byte("listener "+port+" 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\nmax_inflight_messages 0\npersistence false\nlog_type none\n"), 0o600)
		cmd = exec.Command(bin, "-c", conf)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		for i := 0; ; i++ {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
				break
			}
			if i > 100 {
				b.Fatalf("mosquitto did not listen on %s", addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	pid := cmd.Process.Pid
	return addr, func() time.Duration { return procCPU(pid) }
}

// BenchmarkPeer runs the fan-out and fan-in loads against our broker and
// mosquitto, each in its own process, and reports the broker process's CPU
// time per delivered message (broker-cpu-ns/msg): compare the two lines.
func BenchmarkPeer(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads CPU time from /proc")
	}
	for _, peer := range []string{"mqttx", "mosquitto"} {
		b.Run("RoundTrip/"+peer, func(b *testing.B) {
			addr, cpu := startPeer(b, peer)
			runRoundTrip(b, addr, cpu)
		})
		for _, qos := range []byte{0, 1} {
			b.Run(fmt.Sprintf("FanOut/QoS%d/%s", qos, peer), func(b *testing.B) {
				addr, cpu := startPeer(b, peer)
				runFanOut(b, addr, 16, qos, cpu)
			})
			b.Run(fmt.Sprintf("FanIn/QoS%d/%s", qos, peer), func(b *testing.B) {
				addr, cpu := startPeer(b, peer)
				runFanIn(b, addr, 8, qos, cpu)
			})
		}
	}
}
