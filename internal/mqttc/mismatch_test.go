package mqttc

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/mosquittotest"
)

// TestProtocolMismatch checks that pointing a scheme at the wrong kind of listener gives
// an error that says so, on both adapters.
func TestProtocolMismatch(t *testing.T) {
	pki := newPKI(t)
	b := mosquittotest.StartBroker(t, mosquittotest.WithWebSocket(),
		mosquittotest.WithTLS(mosquittotest.TLSListener{CertFile: pki.CertFile, KeyFile: pki.KeyFile}))
	cases := []struct {
		scheme, addr, want string
	}{
		{"mqtt", b.TLSAddr, "check that --protocol matches the port"},
		{"ws", b.Addr, "is this a WebSocket listener?"},
		{"wss", b.WSAddr, "this port does not speak TLS"},
		{"mqtts", b.Addr, ""}, // mosquitto closes or resets; any plain error will do
	}
	for _, v := range []Version{V5, V311} {
		for _, tc := range cases {
			t.Run(v.String()+"/"+tc.scheme, func(t *testing.T) {
				o := baseOptions(t, tc.addr, v)
				o.Scheme = tc.scheme
				o.TLS.Insecure = true
				o.ConnectTimeout = 3 * time.Second
				c, _ := New(o)
				_, err := c.Connect(ctxT(t))
				var re *RefusedError
				if err == nil || errors.As(err, &re) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want a plain error containing %q", err, tc.want)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("multi-line error %q", err)
				}
			})
		}
	}
}
