package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
)

// metricsAddr completes --metrics: a port alone ("9100" or ":9100") listens
// on loopback only.
func metricsAddr(v string) (string, error) {
	if p, err := strconv.Atoi(strings.TrimPrefix(v, ":")); err == nil {
		if p < 0 || p > 65535 {
			return "", fmt.Errorf("invalid --metrics %s: port must be 0 to 65535", v)
		}
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
	}
	if _, port, err := net.SplitHostPort(v); err != nil || !isPort(port) {
		return "", fmt.Errorf("invalid --metrics %s: give a port (9100, on loopback) or host:port", v)
	}
	return v, nil
}

// writeMetrics writes the broker's counters, then the Go process's, in
// Prometheus text format. Written by hand: a metrics library's package init would run
// in every mqttx command, not only in serve.
func writeMetrics(w io.Writer, srv *broker.Server) {
	st := srv.Stats()
	b := make([]byte, 0, 2048)
	b = promLine(b, "gauge", "mqttx_uptime_seconds", st.Uptime.Seconds())
	b = promLine(b, "gauge", "mqttx_clients_connected", float64(st.ClientsConnected))
	b = promLine(b, "gauge", "mqttx_clients_disconnected", float64(st.ClientsDisconnected))
	b = promLine(b, "counter", "mqttx_messages_received_total", float64(st.MessagesReceived))
	b = promLine(b, "counter", "mqttx_messages_sent_total", float64(st.MessagesSent))
	b = promLine(b, "gauge", "mqttx_retained_messages", float64(st.Retained))
	b = promLine(b, "gauge", "mqttx_subscriptions", float64(st.Subscriptions))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b = promLine(b, "gauge", "go_goroutines", float64(runtime.NumGoroutine()))
	b = promLine(b, "gauge", "go_memstats_alloc_bytes", float64(ms.Alloc))
	b = promLine(b, "gauge", "go_memstats_heap_inuse_bytes", float64(ms.HeapInuse))
	b = promLine(b, "gauge", "go_memstats_sys_bytes", float64(ms.Sys))
	b = promLine(b, "counter", "go_gc_cycles_total", float64(ms.NumGC))
	b = promLine(b, "counter", "go_gc_pause_seconds_total", float64(ms.PauseTotalNs)/1e9)
	b = fmt.Appendf(b, "# TYPE go_info gauge\ngo_info{version=%q} 1\n", runtime.Version())
	b = appendProcessMetrics(b)
	_, _ = w.Write(b)
}

// promLine appends one metric with its TYPE line.
func promLine(b []byte, typ, name string, v float64) []byte {
	b = append(b, "# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typ...)
	b = append(b, '\n')
	b = append(b, name...)
	b = append(b, ' ')
	b = strconv.AppendFloat(b, v, 'g', -1, 64)
	return append(b, '\n')
}

// serveMetrics serves /metrics on ln until stop is called.
func serveMetrics(ln net.Listener, srv *broker.Server) (stop func()) {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		writeMetrics(w, srv)
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener was closed under it: shutting down
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		<-done
	}
}

func isPort(s string) bool {
	p, err := strconv.Atoi(s)
	return err == nil && p >= 0 && p <= 65535
}
