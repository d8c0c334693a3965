package serve

import (
	"io"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/mqttc"
)

func TestMetricsAddr(t *testing.T) {
	for in, want := range map[string]string{"9100": "127.0.0.1:9100", ":9100": "127.0.0.1:9100", "0.0.0.0:9100": "0.0.0.0:9100", "[::1]:1": "[::1]:1"} {
		if got, err := metricsAddr(in); err != nil || got != want {
			t.Errorf("metricsAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"70000", "localhost", "http://x"} {
		if _, err := metricsAddr(bad); err == nil || !strings.Contains(err.Error(), "invalid --metrics") {
			t.Errorf("metricsAddr(%q): %v", bad, err)
		}
	}
}

func TestMetricsEndpoint(t *testing.T) {
	o := defaults()
	o.Metrics = "0"
	addrs := make(chan string, 1)
	o.onMetrics = func(a string) { addrs <- a }
	s := startServe(t, o)
	addr := <-addrs
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("--metrics 0 listens on %s, want loopback", addr)
	}
	c, _ := client(t, "mqtt", s.addrs["mqtt"], "m1", mqttc.V5)
	if _, err := c.Subscribe(ctx5(t), []mqttc.Subscription{{Topic: "a/#", QoS: 1}}, mqttc.SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx5(t), mqttc.Message{Topic: "a/b", Payload: []byte("x"), QoS: 1, Retain: true}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"mqttx_clients_connected 1\n", "mqttx_messages_received_total 1\n", "mqttx_retained_messages 1\n",
		"mqttx_subscriptions 1\n", "mqttx_messages_dropped_total 0\n", "# TYPE mqttx_messages_sent_total counter\n", "go_goroutines ", "go_info{version=\"go"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, b)
		}
	}
	// CONNECT, SUBSCRIBE and PUBLISH came in; CONNACK, SUBACK, PUBLISH and PUBACK went out.
	for _, name := range []string{"mqttx_bytes_received_total", "mqttx_bytes_sent_total"} {
		m := regexp.MustCompile("(?m)^" + name + " ([0-9]+)$").FindStringSubmatch(string(b))
		if m == nil {
			t.Errorf("/metrics lacks %s:\n%s", name, b)
		} else if n, _ := strconv.Atoi(m[1]); n < 20 {
			t.Errorf("%s %d, want at least the 20 bytes of this test's packets", name, n)
		}
	}
	if runtime.GOOS == "linux" {
		// The process metrics from /proc, with values that make sense.
		vals := map[string]float64{}
		for line := range strings.SplitSeq(string(b), "\n") {
			if name, v, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
				vals[name], _ = strconv.ParseFloat(v, 64)
			}
		}
		now := float64(time.Now().Unix())
		if rss := vals["process_resident_memory_bytes"]; rss < 1<<20 || rss > 1<<34 {
			t.Errorf("process_resident_memory_bytes %v", rss)
		}
		if st := vals["process_start_time_seconds"]; st < now-3600 || st > now+60 {
			t.Errorf("process_start_time_seconds %v, now %v", st, now)
		}
		if cpu, ok := vals["process_cpu_seconds_total"]; vals["process_open_fds"] < 3 || !ok || cpu < 0 {
			t.Errorf("process_open_fds %v, process_cpu_seconds_total %v", vals["process_open_fds"], cpu)
		}
	}
	if !strings.Contains(s.errOut.String(), "Metrics on http://"+addr+"/metrics") {
		t.Errorf("stderr lacks the metrics address:\n%s", s.errOut.String())
	}
}
