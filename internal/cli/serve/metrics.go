package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"

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
// Prometheus text format.
func writeMetrics(w http.ResponseWriter, srv *broker.Server) {
	st := srv.Stats()
	metrics.WriteGaugeFloat64(w, "mqttx_uptime_seconds", st.Uptime.Seconds())
	metrics.WriteGaugeUint64(w, "mqttx_clients_connected", uint64(st.ClientsConnected))
	metrics.WriteGaugeUint64(w, "mqttx_clients_disconnected", uint64(st.ClientsDisconnected))
	metrics.WriteCounterUint64(w, "mqttx_messages_received_total", st.MessagesReceived)
	metrics.WriteCounterUint64(w, "mqttx_messages_sent_total", st.MessagesSent)
	metrics.WriteCounterUint64(w, "mqttx_messages_dropped_total", st.MessagesDropped)
	metrics.WriteCounterUint64(w, "mqttx_bytes_received_total", st.BytesReceived)
	metrics.WriteCounterUint64(w, "mqttx_bytes_sent_total", st.BytesSent)
	metrics.WriteGaugeUint64(w, "mqttx_retained_messages", uint64(st.Retained))
	metrics.WriteGaugeUint64(w, "mqttx_subscriptions", uint64(st.Subscriptions))
	metrics.WriteProcessMetrics(w)
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
