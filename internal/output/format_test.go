package output

import (
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/mqttc"
)

func TestMessageFormat(t *testing.T) {
	ct := "text/plain"
	exp := uint32(60)
	m := mqttc.Message{Topic: "a/b", Payload: []byte(`{"v":1}`), QoS: 1, Retain: true,
		ReceivedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Properties: &mqttc.PublishProperties{ContentType: ct, MessageExpiry: &exp, ResponseTopic: "r",
			CorrelationData: []byte("c"), UserProperties: []mqttc.UserProperty{{Key: "k", Value: "v"}, {Key: "a", Value: "b"}}, SubscriptionIDs: []int{3, 4}}}
	tests := []struct{ format, want string }{
		{"%t %p", `a/b {"v":1}`},
		{"%q%r %l", "11 7"},
		{`%t\t%x\n`, "a/b\t7b2276223a317d\n"},
		{"%X", "7B2276223A317D"},
		{"%I|%U", "2026-01-02T03:04:05.000000006Z|1767323045.000000006"},
		{"%C %E %R %D %S %P %F%A", "text/plain 60 r c 3,4 k:v a:b "},
		{"100%% %m", "100% 0"},
		{"%j", `{"payload":"{\"v\":1}","payload_encoding":"utf8","properties":{"message_expiry_interval":60,"response_topic":"r","correlation_data":"c","user_properties":[{"key":"k","value":"v"},{"key":"a","value":"b"}],"subscription_identifier":[3,4],"content_type":"text/plain"},"qos":1,"received_at":"2026-01-02T03:04:05.000000006Z","retain":true,"topic":"a/b","type":"message"}`},
		{"%J", `{"payload":{"v":1},"payload_encoding":"json","properties":{"message_expiry_interval":60,"response_topic":"r","correlation_data":"c","user_properties":[{"key":"k","value":"v"},{"key":"a","value":"b"}],"subscription_identifier":[3,4],"content_type":"text/plain"},"qos":1,"received_at":"2026-01-02T03:04:05.000000006Z","retain":true,"topic":"a/b","type":"message"}`},
	}
	for _, tt := range tests {
		f, err := ParseMessageFormat(tt.format)
		if err != nil {
			t.Fatalf("%q: %v", tt.format, err)
		}
		if got := string(f.Append(nil, m, m.Payload, time.Time{})); got != tt.want {
			t.Errorf("%q:\n got %q\nwant %q", tt.format, got, tt.want)
		}
	}
	for format, want := range map[string]string{
		"%":      "lone % at the end",
		"%z":     "unknown directive %z",
		`\`:      `lone \ at the end`,
		`\q`:     `unknown escape \q`,
		"@Y":     "@ time directives are not supported",
		"%é":     `unknown directive %\u00e9`,
		"%10p":   "unknown directive %1",
		"ok %t%": "lone %",
	} {
		if _, err := ParseMessageFormat(format); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", format, err, want)
		}
	}
}

// FuzzParseMessageFormat: a format without directives prints itself (after escapes),
// and an accepted format never panics on any message.
func FuzzParseMessageFormat(f *testing.F) {
	for _, s := range []string{"%t %p", `%j\n`, "%%", "%", `\e[1m%t\e[0m`, "@H", "plain"} {
		f.Add(s, []byte("payload"))
	}
	f.Fuzz(func(t *testing.T, s string, pl []byte) {
		mf, err := ParseMessageFormat(s)
		if err != nil {
			return
		}
		out := mf.Append(nil, mqttc.Message{Topic: "t", Payload: pl}, pl, time.Unix(0, 0))
		if !strings.ContainsAny(s, `%\`) && string(out) != s {
			t.Fatalf("literal %q printed as %q", s, out)
		}
	})
}
