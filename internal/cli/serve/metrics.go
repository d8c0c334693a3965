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
	b = promUint(b, "gauge", "mqttx_clients_connected", uint64(st.ClientsConnected))
	b = promUint(b, "gauge", "mqttx_clients_disconnected", uint64(st.ClientsDisconnected))
	b = promUint(b, "counter", "mqttx_messages_received_total", st.MessagesReceived)
	b = promUint(b, "counter", "mqttx_messages_sent_total", st.MessagesSent)
	b = promUint(b, "counter", "mqttx_messages_dropped_total", st.MessagesDropped)
	b = promUint(b, "counter", "mqttx_bytes_received_total", st.BytesReceived)
	b = promUint(b, "counter", "mqttx_bytes_sent_total", st.BytesSent)
	b = promUint(b, "gauge", "mqttx_retained_messages", uint64(st.Retained))
	b = promUint(b, "gauge", "mqttx_subscriptions", uint64(st.Subscriptions))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b = promUint(b, "gauge", "go_goroutines", uint64(runtime.NumGoroutine()))
	b = promUint(b, "gauge", "go_memstats_alloc_bytes", uint64(ms.Alloc))
	b = promUint(b, "gauge", "go_memstats_heap_inuse_bytes", uint64(ms.HeapInuse))
	b = promUint(b, "gauge", "go_memstats_sys_bytes", uint64(ms.Sys))
	b = promUint(b, "counter", "go_gc_cycles_total", uint64(ms.NumGC))
	b = promLine(b, "counter", "go_gc_pause_seconds_total", float64(ms.PauseTotalNs)/1e9)
	b = fmt.Appendf(b, "# TYPE go_info gauge\ngo_info{version=%q} 1\n", runtime.Version())
	b = appendProcessMetrics(b)
	_, _ = w.Write(b)
}

// promLine appends one metric with its TYPE line.
func promLine(b []byte, typ, name string, v float64) []byte {
	b = promHead(b, typ, name)
	b = strconv.AppendFloat(b, v, 'g', -1, 64)
	return append(b, '\n')
}

// promUint appends one integer metric with its TYPE line, in full digits
// however large it grows.
func promUint(b []byte, typ, name string, v uint64) []byte {
	b = promHead(b, typ, name)
	b = strconv.AppendUint(b, v, 10)
	return append(b, '\n')
}

func promHead(b []byte, typ, name string) []byte {
	b = append(b, "# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typ...)
	b = append(b, '\n')
	b = append(b, name...)
	return append(b, ' ')
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
