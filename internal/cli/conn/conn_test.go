package conn

import (
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/cli/cmdutil/cmdtest"
	"github.com/mqttx/mqttx/internal/mqttc"
)

// parse runs the conn command's flag parsing and validation, stopping before run.
func parse(t *testing.T, args ...string) (*options, error) {
	t.Helper()
	return cmdtest.Parse(t, NewCmd, args...)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"nothing", nil, ""},
		{"timeout", []string{"-W", "3"}, ""},
		{"user properties", []string{"--user-property", "a=1", "--user-property", "a=2"}, ""},
		{"will", []string{"--will-topic", "w", "--will-message", "bye", "--will-qos", "1", "--will-retain"}, ""},
		{"bad user property", []string{"--user-property", "=x"}, "invalid --conn-user-property"},
		{"bad timeout", []string{"-W", "x"}, "not a duration"},
		{"bad output", []string{"-o", "csv"}, "invalid --output csv"},
		{"positional", []string{"broker"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parse(t, tt.args...)
			if err == nil {
				// Connection settings are checked when they are resolved, as run does.
				_, err = o.ConnOptions()
			}
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	o, err := parse(t, "-W", "1.5")
	if err != nil || time.Duration(o.Timeout) != 1500*time.Millisecond {
		t.Errorf("-W 1.5: %v %v", err, time.Duration(o.Timeout))
	}
}

func TestConnAckEvent(t *testing.T) {
	u16 := func(v uint16) *uint16 { return &v }
	u32 := func(v uint32) *uint32 { return &v }
	b := func(v bool) *bool { return &v }
	qos := byte(1)
	ack := &mqttc.ConnAck{
		SessionPresent: true,
		ClientID:       "",
		Properties: &mqttc.ConnAckProperties{
			SessionExpiryInterval: u32(300),
			ReceiveMaximum:        u16(20),
			MaximumQoS:            &qos,
			RetainAvailable:       b(false),
			MaximumPacketSize:     u32(1 << 20),
			AssignedClientID:      "auto-123",
			TopicAliasMaximum:     u16(10),
			WildcardSubAvailable:  b(true),
			SubIDAvailable:        b(false),
			SharedSubAvailable:    b(true),
			ServerKeepAlive:       u16(60),
		},
	}
	e := connAckEvent(mqttc.Options{Version: mqttc.V5}, ack)
	want := map[string]any{
		"mqtt_version":                      "5",
		"session_present":                   true,
		"client_id":                         "auto-123",
		"assigned_client_id":                true,
		"session_expiry_interval":           uint32(300),
		"receive_maximum":                   uint16(20),
		"maximum_qos":                       byte(1),
		"retain_available":                  false,
		"maximum_packet_size":               uint32(1 << 20),
		"topic_alias_maximum":               uint16(10),
		"wildcard_subscription_available":   true,
		"subscription_identifier_available": false,
		"shared_subscription_available":     true,
		"server_keep_alive":                 uint16(60),
	}
	if e.Type != "connected" {
		t.Errorf("type %q", e.Type)
	}
	for k, v := range want {
		if e.Fields[k] != v {
			t.Errorf("%s = %#v, want %#v", k, e.Fields[k], v)
		}
	}
	if len(e.Fields) != len(want) {
		t.Errorf("fields %v, want exactly %v", e.Fields, want)
	}

	e = connAckEvent(mqttc.Options{Version: mqttc.V311}, &mqttc.ConnAck{ClientID: "me"})
	if len(e.Fields) != 3 || e.Fields["client_id"] != "me" || e.Fields["session_present"] != false || e.Fields["mqtt_version"] != "3.1.1" {
		t.Errorf("3.1.1 fields %v", e.Fields)
	}
}
