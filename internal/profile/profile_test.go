package profile

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/mqttx/mqttx/internal/mqttc"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// newFlags returns a flag set with the shared connection flags and the per-command
// --user-property, parsed from args.
func newFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddConnFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return fs
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name      string
		base, top Profile
		want      Profile
	}{
		{"unset top keeps base", Profile{Host: ptr("a"), Port: ptr(1)}, Profile{}, Profile{Host: ptr("a"), Port: ptr(1)}},
		{"set top wins", Profile{Host: ptr("a")}, Profile{Host: ptr("b")}, Profile{Host: ptr("b")}},
		{"zero values count", Profile{KeepAlive: ptr(30), Clean: ptr(true), Password: ptr("x")},
			Profile{KeepAlive: ptr(0), Clean: ptr(false), Password: ptr("")},
			Profile{KeepAlive: ptr(0), Clean: ptr(false), Password: ptr("")}},
		{"slices replace", Profile{ALPN: []string{"a"}, UserProperties: []string{"k=v"}},
			Profile{ALPN: []string{"b", "c"}},
			Profile{ALPN: []string{"b", "c"}, UserProperties: []string{"k=v"}}},
		{"empty non-nil slice clears", Profile{WSHeaders: []string{"A: b"}}, Profile{WSHeaders: []string{}}, Profile{WSHeaders: []string{}}},
		{"new field on empty base", Profile{}, Profile{ConnectTimeout: ptr(3 * time.Second), ReceiveMaximum: ptr(uint16(5))},
			Profile{ConnectTimeout: ptr(3 * time.Second), ReceiveMaximum: ptr(uint16(5))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.base
			got.Merge(tt.top)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMergeCopiesValues(t *testing.T) {
	top := Profile{Host: ptr("a"), ALPN: []string{"x"}}
	var p Profile
	p.Merge(top)
	*top.Host = "changed"
	top.ALPN[0] = "changed"
	if *p.Host != "a" || p.ALPN[0] != "x" {
		t.Fatalf("merge aliased the source: %q %q", *p.Host, p.ALPN[0])
	}
}

// TestMergeCoversEveryField sets every field of a profile through reflection and checks
// that Merge copies all of them, so a new field cannot be forgotten in Merge.
func TestMergeCoversEveryField(t *testing.T) {
	var full Profile
	v := reflect.ValueOf(&full).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		default:
			t.Fatalf("field %s has kind %s; Profile fields must be pointers or slices", v.Type().Field(i).Name, f.Kind())
		}
	}
	var got Profile
	got.Merge(full)
	if !reflect.DeepEqual(got, full) {
		t.Fatalf("Merge dropped fields:\n got %+v\nwant %+v", got, full)
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     func(string) string
		want    Profile
		wantErr string
	}{
		{"nothing", env(), Profile{}, ""},
		{"all", env("MQTTX_HOST", "h", "MQTTX_PORT", "1884", "MQTTX_USERNAME", "u", "MQTTX_PASSWORD", "p"),
			Profile{Host: ptr("h"), Port: ptr(1884), Username: ptr("u"), Password: ptr("p")}, ""},
		{"empty is unset", env("MQTTX_HOST", "", "MQTTX_PORT", ""), Profile{}, ""},
		{"profile is not a field", env("MQTTX_PROFILE", "prod"), Profile{}, ""},
		{"bad port", env("MQTTX_PORT", "abc"), Profile{}, "invalid MQTTX_PORT abc: must be a port number 1-65535"},
		{"port out of range", env("MQTTX_PORT", "70000"), Profile{}, "invalid MQTTX_PORT 70000: must be a port number 1-65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromEnv(tt.env)
			if tt.wantErr != "" {
				var ue *UsageError
				if err == nil || err.Error() != tt.wantErr || !errors.As(err, &ue) {
					t.Fatalf("err = %v, want usage error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFromFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want Profile
	}{
		{"none set", nil, Profile{}},
		{"short flags", []string{"-h", "b.example", "-p", "1884", "-l", "ws", "-V", "3.1.1", "-i", "me", "-u", "al", "-P", "pw", "-k", "0", "-x", "60"},
			Profile{Host: ptr("b.example"), Port: ptr(1884), Protocol: ptr("ws"), MQTTVersion: ptr("3.1.1"), ClientID: ptr("me"),
				Username: ptr("al"), Password: ptr("pw"), KeepAlive: ptr(0), SessionExpiry: ptr(uint32(60))}},
		{"no-clean", []string{"--no-clean"}, Profile{Clean: ptr(false)}},
		{"no-clean=false", []string{"--no-clean=false"}, Profile{Clean: ptr(true)}},
		{"empty password is set", []string{"-P", ""}, Profile{Password: ptr("")}},
		{"will", []string{"--will-topic", "w/t", "--will-message", "bye", "--will-qos", "1", "--will-retain",
			"--will-delay-interval", "5", "--will-message-expiry", "6", "--will-content-type", "text/plain",
			"--will-response-topic", "r/t", "--will-correlation-data", "c", "--will-payload-format-indicator",
			"--will-user-property", "a=1", "--will-user-property", "a=2"},
			Profile{WillTopic: ptr("w/t"), WillMessage: ptr("bye"), WillQoS: ptr(1), WillRetain: ptr(true),
				WillDelay: ptr(uint32(5)), WillMessageExpiry: ptr(uint32(6)), WillContentType: ptr("text/plain"),
				WillResponseTopic: ptr("r/t"), WillCorrelationData: ptr("c"), WillPayloadFormat: ptr(true),
				WillUserProperties: []string{"a=1", "a=2"}}},
		{"tls and ws", []string{"--ca", "ca.pem", "--cert", "c.pem", "--key", "k.pem", "--insecure", "--alpn", "mqtt", "--alpn", "x,y",
			"--servername", "sni", "--ws-path", "/p", "--ws-header", "A: b", "--connect-timeout", "2s"},
			Profile{CA: ptr("ca.pem"), Cert: ptr("c.pem"), Key: ptr("k.pem"), Insecure: ptr(true), ALPN: []string{"mqtt", "x,y"},
				ServerName: ptr("sni"), WSPath: ptr("/p"), WSHeaders: []string{"A: b"}, ConnectTimeout: ptr(2 * time.Second)}},
		{"v5 connect props", []string{"--receive-maximum", "10", "--maximum-packet-size", "1000", "--topic-alias-maximum", "3",
			"--request-response-info", "--request-problem-info=false"},
			Profile{ReceiveMaximum: ptr(uint16(10)), MaximumPacketSize: ptr(uint32(1000)), TopicAliasMaximum: ptr(uint16(3)),
				RequestResponseInfo: ptr(true), RequestProblemInfo: ptr(false)}},
		{"url alone", []string{"-L", "mqtts://al:p%40ss@b.example:8884/t/1"},
			Profile{Protocol: ptr("mqtts"), Host: ptr("b.example"), Port: ptr(8884), Username: ptr("al"), Password: ptr("p@ss")}},
		{"flags override url, either order", []string{"-p", "9000", "-L", "mqtt://al@b.example:1000", "-u", "bob"},
			Profile{Protocol: ptr("mqtt"), Host: ptr("b.example"), Port: ptr(9000), Username: ptr("bob")}},
		{"profile and config flags are not fields", []string{"--profile", "x", "--config", "/nope"}, Profile{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromFlags(newFlags(t, tt.args...))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFromFlagsBadURL(t *testing.T) {
	_, err := FromFlags(newFlags(t, "-L", "http://x"))
	var ue *UsageError
	if !errors.As(err, &ue) || err.Error() != "invalid --url http://x: scheme must be mqtt, mqtts, tcp, ssl, ws or wss" {
		t.Fatalf("err = %v", err)
	}
}

func TestFromFlagsSubsetFlagSet(t *testing.T) {
	// A command may register only some flags; the rest are simply absent.
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.StringP("host", "h", "", "")
	if err := fs.Parse([]string{"-h", "z"}); err != nil {
		t.Fatal(err)
	}
	got, err := FromFlags(fs)
	if err != nil || *got.Host != "z" {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestURLTopic(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"-L", "mqtt://h/sensor/+/temp"}, "sensor/+/temp"},
		{[]string{"-L", "mqtt://h/sensor/#"}, "sensor/#"},
		{[]string{"-L", "ws://h/mqtt"}, ""},
	} {
		got, err := URLTopic(newFlags(t, tt.args...))
		if err != nil || got != tt.want {
			t.Errorf("URLTopic(%q) = %q, %v; want %q", tt.args, got, err, tt.want)
		}
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw       string
		want      Profile
		wantTopic string
		wantErr   string
	}{
		{raw: "mqtt://localhost", want: Profile{Protocol: ptr("mqtt"), Host: ptr("localhost")}},
		{raw: "mqtt://user:pass@host:1884/a/b", want: Profile{Protocol: ptr("mqtt"), Host: ptr("host"), Port: ptr(1884), Username: ptr("user"), Password: ptr("pass")}, wantTopic: "a/b"},
		{raw: "tcp://host", want: Profile{Protocol: ptr("mqtt"), Host: ptr("host")}},
		{raw: "ssl://host", want: Profile{Protocol: ptr("mqtts"), Host: ptr("host")}},
		{raw: "MQTTS://host", want: Profile{Protocol: ptr("mqtts"), Host: ptr("host")}},
		{raw: "mqtt://[::1]:1883/t", want: Profile{Protocol: ptr("mqtt"), Host: ptr("::1"), Port: ptr(1883)}, wantTopic: "t"},
		{raw: "mqtt://[::1]", want: Profile{Protocol: ptr("mqtt"), Host: ptr("::1")}},
		{raw: "mqtt://u:p%2Fw%3Ad%40@h", want: Profile{Protocol: ptr("mqtt"), Host: ptr("h"), Username: ptr("u"), Password: ptr("p/w:d@")}},
		{raw: "mqtt://a%20b@h", want: Profile{Protocol: ptr("mqtt"), Host: ptr("h"), Username: ptr("a b")}},
		{raw: "mqtt://u:@h", want: Profile{Protocol: ptr("mqtt"), Host: ptr("h"), Username: ptr("u"), Password: ptr("")}},
		{raw: "mqtt://h/", want: Profile{Protocol: ptr("mqtt"), Host: ptr("h")}},
		{raw: "mqtt://h/sensor/#", want: Profile{Protocol: ptr("mqtt"), Host: ptr("h")}, wantTopic: "sensor/#"},
		{raw: "mqtt://h/a%20b/+", want: Profile{Protocol: ptr("mqtt"), Host: ptr("h")}, wantTopic: "a b/+"},
		{raw: "ws://h:8083/mqtt", want: Profile{Protocol: ptr("ws"), Host: ptr("h"), Port: ptr(8083), WSPath: ptr("/mqtt")}},
		{raw: "wss://h/", want: Profile{Protocol: ptr("wss"), Host: ptr("h"), WSPath: ptr("/")}},
		{raw: "http://h", wantErr: "invalid --url http://h: scheme must be mqtt, mqtts, tcp, ssl, ws or wss"},
		{raw: "h:1883", wantErr: "invalid --url h:1883: must look like mqtt://[user:password@]host[:port][/topic]"},
		{raw: "", wantErr: `invalid --url "": must look like mqtt://[user:password@]host[:port][/topic]`},
		{raw: "mqtt://", wantErr: "invalid --url mqtt://: missing host"},
		{raw: "mqtt://u@", wantErr: "invalid --url mqtt://u@: missing host"},
		{raw: "mqtt://h:0", wantErr: "invalid --url mqtt://h:0: port must be 1-65535"},
		{raw: "mqtt://h:65536", wantErr: "invalid --url mqtt://h:65536: port must be 1-65535"},
		{raw: "mqtt://h:", wantErr: "invalid --url mqtt://h:: port must be 1-65535"},
		{raw: "mqtt://h:x", wantErr: "invalid --url mqtt://h:x: bad host"},
		{raw: "mqtt://u:p%zz@h", wantErr: "invalid --url mqtt://u:p%zz@h: bad percent-encoding in the password"},
		{raw: "mqtt://h/100%", wantErr: "invalid --url mqtt://h/100%: bad percent-encoding in the topic"},
		{raw: "mqtt://::1", wantErr: "invalid --url mqtt://::1: put an IPv6 address in brackets, as in mqtt://[::1]:1883"},
		{raw: "mqtt://[::1/t", wantErr: "invalid --url mqtt://[::1/t: bad host"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, topic, err := ParseURL(tt.raw)
			if tt.wantErr != "" {
				var ue *UsageError
				if err == nil || err.Error() != tt.wantErr || !errors.As(err, &ue) {
					t.Fatalf("err = %v, want usage error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) || topic != tt.wantTopic {
				t.Errorf("got %+v topic %q\nwant %+v topic %q", got, topic, tt.want, tt.wantTopic)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]mqttc.Version{"5": mqttc.V5, "5.0": mqttc.V5, "3.1.1": mqttc.V311, "311": mqttc.V311, "3.1": mqttc.V31, "31": mqttc.V31} {
		got, err := ParseVersion(in)
		if err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"4":   "invalid --mqtt-version 4: must be 5, 3.1.1 or 3.1",
		"":    `invalid --mqtt-version "": must be 5, 3.1.1 or 3.1`,
		"3":   "invalid --mqtt-version 3: must be 5, 3.1.1 or 3.1",
		"v5":  "invalid --mqtt-version v5: must be 5, 3.1.1 or 3.1",
		"5 x": `invalid --mqtt-version "5 x": must be 5, 3.1.1 or 3.1`,
	} {
		_, err := ParseVersion(in)
		var ue *UsageError
		if err == nil || err.Error() != msg || !errors.As(err, &ue) {
			t.Errorf("ParseVersion(%q) err = %v, want %q", in, err, msg)
		}
	}
}

func TestParseKV(t *testing.T) {
	for _, tt := range []struct{ in, k, v, err string }{
		{in: "a=b", k: "a", v: "b"},
		{in: "a=b=c", k: "a", v: "b=c"},
		{in: "a=", k: "a", v: ""},
		{in: "ключ=значение", k: "ключ", v: "значение"},
		{in: "ab", err: "invalid --user-property ab: must be key=value"},
		{in: "=b", err: "invalid --user-property =b: must be key=value"},
		{in: "", err: `invalid --user-property "": must be key=value`},
	} {
		got, err := ParseKV("--user-property", tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseKV(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got.Key != tt.k || got.Value != tt.v {
			t.Errorf("ParseKV(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

func TestParseHeader(t *testing.T) {
	for _, tt := range []struct{ in, name, value, err string }{
		{in: "Authorization: Bearer x", name: "Authorization", value: "Bearer x"},
		{in: "x-token:abc", name: "X-Token", value: "abc"},
		{in: "A: b: c", name: "A", value: "b: c"},
		{in: "A:", name: "A", value: ""},
		{in: "novalue", err: `invalid --ws-header novalue: must be "Name: value"`},
		{in: ": v", err: `invalid --ws-header ": v": must be "Name: value"`},
		{in: "Bad Name: v", err: `invalid --ws-header "Bad Name: v": must be "Name: value"`},
	} {
		n, v, err := ParseHeader(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseHeader(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || n != tt.name || v != tt.value {
			t.Errorf("ParseHeader(%q) = %q %q %v", tt.in, n, v, err)
		}
	}
}

func fixedClientID(t *testing.T) {
	old := newClientID
	newClientID = func() string { return "mqttx_0000abcd" }
	t.Cleanup(func() { newClientID = old })
}

func TestOptionsDefaults(t *testing.T) {
	fixedClientID(t)
	got, err := Profile{}.Options()
	if err != nil {
		t.Fatal(err)
	}
	want := mqttc.Options{Version: mqttc.V5, Scheme: "mqtt", Host: "localhost", Port: 1883, ClientID: "mqttx_0000abcd", KeepAlive: 30, CleanStart: true}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestOptionsRandomClientID(t *testing.T) {
	a, err := Profile{}.Options()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Profile{}.Options()
	re := regexp.MustCompile(`^mqttx_[0-9a-f]{8}$`)
	if !re.MatchString(a.ClientID) || !re.MatchString(b.ClientID) || a.ClientID == b.ClientID {
		t.Fatalf("client ids %q %q", a.ClientID, b.ClientID)
	}
}

func TestOptionsPortByProtocol(t *testing.T) {
	for proto, port := range map[string]int{"mqtt": 1883, "mqtts": 8883, "ws": 8083, "wss": 8084} {
		o, err := Profile{Protocol: ptr(proto)}.Options()
		if err != nil || o.Port != port {
			t.Errorf("%s: port %d, %v; want %d", proto, o.Port, err, port)
		}
		if (proto == "ws" || proto == "wss") && o.WSPath != "/mqtt" {
			t.Errorf("%s: ws path %q", proto, o.WSPath)
		}
	}
}

func TestOptionsProtocolCase(t *testing.T) {
	o, err := Profile{Protocol: ptr("MQTTS")}.Options()
	if err != nil || o.Scheme != "mqtts" || o.Port != 8883 {
		t.Fatalf("got %+v, %v", o, err)
	}
}

func TestOptionsFull(t *testing.T) {
	p := Profile{
		Protocol: ptr("wss"), Host: ptr("b"), Port: ptr(443), ClientID: ptr("c"), Username: ptr("u"), Password: ptr(""),
		KeepAlive: ptr(0), Clean: ptr(false), SessionExpiry: ptr(uint32(3600)),
		WillTopic: ptr("w/t"), WillMessage: ptr("bye"), WillQoS: ptr(2), WillRetain: ptr(true), WillDelay: ptr(uint32(5)),
		WillMessageExpiry: ptr(uint32(6)), WillContentType: ptr("text/plain"), WillResponseTopic: ptr("r/t"),
		WillCorrelationData: ptr("cd"), WillPayloadFormat: ptr(true), WillUserProperties: []string{"a=1", "a=2"},
		CA: ptr("ca.pem"), Cert: ptr("c.pem"), Key: ptr("k.pem"), Insecure: ptr(true), ALPN: []string{"mqtt"}, ServerName: ptr("sni"),
		WSPath: ptr("/ws"), WSHeaders: []string{"x-a: 1", "X-A: 2"}, ConnectTimeout: ptr(time.Second),
		ReceiveMaximum: ptr(uint16(10)), MaximumPacketSize: ptr(uint32(2048)), TopicAliasMaximum: ptr(uint16(4)),
		RequestResponseInfo: ptr(true), RequestProblemInfo: ptr(false), UserProperties: []string{"k=v"},
	}
	got, err := p.Options()
	if err != nil {
		t.Fatal(err)
	}
	one := byte(1)
	want := mqttc.Options{
		Version: mqttc.V5, Scheme: "wss", Host: "b", Port: 443, ClientID: "c", Username: "u", Password: "", HasPassword: true,
		KeepAlive: 0, CleanStart: false, SessionExpiry: ptr(uint32(3600)), ConnectTimeout: time.Second,
		Will: &mqttc.Will{Topic: "w/t", Payload: []byte("bye"), QoS: 2, Retain: true, DelayInterval: ptr(uint32(5)),
			MessageExpiry: ptr(uint32(6)), PayloadFormat: &one, ContentType: "text/plain", ResponseTopic: "r/t",
			CorrelationData: []byte("cd"), UserProperties: []mqttc.UserProperty{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}}},
		TLS:            mqttc.TLSOptions{CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "k.pem", Insecure: true, ALPN: []string{"mqtt"}, ServerName: "sni"},
		WSPath:         "/ws",
		WSHeaders:      http.Header{"X-A": {"1", "2"}},
		ReceiveMaximum: ptr(uint16(10)), MaximumPacketSize: ptr(uint32(2048)), TopicAliasMaximum: ptr(uint16(4)),
		RequestResponseInfo: true, RequestProblemInfo: ptr(false), UserProperties: []mqttc.UserProperty{{Key: "k", Value: "v"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v\nwill got %+v\nwant %+v", got, want, got.Will, want.Will)
	}
}

func TestOptionsNoCleanV5KeepsSession(t *testing.T) {
	o, err := Profile{Clean: ptr(false), ClientID: ptr("me")}.Options()
	if err != nil || o.SessionExpiry == nil || *o.SessionExpiry != NeverExpires {
		t.Fatalf("v5 --no-clean without -x: expiry %v, %v; want never", o.SessionExpiry, err)
	}
	o, err = Profile{Clean: ptr(false), ClientID: ptr("me"), SessionExpiry: ptr(uint32(60))}.Options()
	if err != nil || *o.SessionExpiry != 60 {
		t.Fatalf("-x 60 kept: %v %v", o.SessionExpiry, err)
	}
	if o, _ := (Profile{}).Options(); o.SessionExpiry != nil {
		t.Fatalf("clean start sends no expiry: %v", *o.SessionExpiry)
	}
	if o, _ := (Profile{Clean: ptr(false), ClientID: ptr("me"), MQTTVersion: ptr("3.1.1")}).Options(); o.SessionExpiry != nil {
		t.Fatalf("3.1.1 has no session expiry")
	}
}

func TestParseExpiry(t *testing.T) {
	for in, want := range map[string]uint32{"0": 0, "60": 60, "never": NeverExpires, "NEVER": NeverExpires, "-1": NeverExpires, "∞": NeverExpires, "4294967295": NeverExpires} {
		if got, err := ParseExpiry(in); err != nil || got != want {
			t.Errorf("ParseExpiry(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "soon", "-2", "4294967296", "1h"} {
		if _, err := ParseExpiry(bad); err == nil {
			t.Errorf("ParseExpiry(%q) accepted", bad)
		}
	}
	got, err := FromFlags(newFlags(t, "-x", "never"))
	if err != nil || got.SessionExpiry == nil || *got.SessionExpiry != NeverExpires {
		t.Fatalf("-x never: %+v %v", got, err)
	}
}

func TestOptionsEmptyClientID(t *testing.T) {
	for _, tt := range []struct {
		p       Profile
		want    string
		wantErr string
	}{
		{Profile{ClientID: ptr("")}, "", ""},
		{Profile{ClientID: ptr(""), MQTTVersion: ptr("3.1.1")}, "", ""},
		{Profile{ClientID: ptr(""), Clean: ptr(false)}, "", ""},
		{Profile{ClientID: ptr(""), MQTTVersion: ptr("3.1.1"), Clean: ptr(false)}, "", "--no-clean needs --client-id"},
	} {
		o, err := tt.p.Options()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%+v: err %v, want %q", tt.p, err, tt.wantErr)
			}
			continue
		}
		if err != nil || o.ClientID != tt.want {
			t.Errorf("%+v: client id %q, %v; want %q", tt.p, o.ClientID, err, tt.want)
		}
	}
	// MQTT 3.1 needs an id: an empty one gets a generated id, as when unset.
	if o, err := (Profile{ClientID: ptr(""), MQTTVersion: ptr("3.1")}).Options(); err != nil || o.ClientID == "" {
		t.Errorf("3.1 empty id: %q %v", o.ClientID, err)
	}
}

func TestOptionsV311NoCleanWithID(t *testing.T) {
	o, err := Profile{MQTTVersion: ptr("3.1.1"), Clean: ptr(false), ClientID: ptr("me")}.Options()
	if err != nil || o.CleanStart || o.ClientID != "me" || o.Version != mqttc.V311 {
		t.Fatalf("got %+v, %v", o, err)
	}
	// MQTT 5 may resume with a generated id (printed by conn), so no error there.
	o, err = Profile{Clean: ptr(false)}.Options()
	if err != nil || o.ClientID == "" {
		t.Fatalf("v5 no-clean: %+v, %v", o, err)
	}
}

func TestOptionsErrors(t *testing.T) {
	v3 := func(p Profile) Profile { p.MQTTVersion = ptr("3.1.1"); return p }
	tests := []struct {
		name string
		p    Profile
		want string
	}{
		{"port 0", Profile{Port: ptr(0)}, "invalid --port 0: must be 1-65535"},
		{"port high", Profile{Port: ptr(65536)}, "invalid --port 65536: must be 1-65535"},
		{"keepalive negative", Profile{KeepAlive: ptr(-1)}, "invalid --keepalive -1: must be 0-65535 seconds"},
		{"keepalive high", Profile{KeepAlive: ptr(65536)}, "invalid --keepalive 65536: must be 0-65535 seconds"},
		{"protocol", Profile{Protocol: ptr("http")}, "invalid --protocol http: must be mqtt, mqtts, ws or wss"},
		{"version", Profile{MQTTVersion: ptr("4")}, "invalid --mqtt-version 4: must be 5, 3.1.1 or 3.1"},
		{"empty host", Profile{Host: ptr("")}, `invalid --host "": must not be empty`},
		{"will qos", Profile{WillTopic: ptr("t"), WillQoS: ptr(3)}, "invalid --will-qos 3: must be 0, 1 or 2"},
		{"will message without topic", Profile{WillMessage: ptr("bye")}, "--will-message needs --will-topic"},
		{"will retain without topic", Profile{WillRetain: ptr(true)}, "--will-retain needs --will-topic"},
		{"will topic wildcard", Profile{WillTopic: ptr("a/#"), WillMessage: ptr("x")}, "invalid --will-topic a/#: a topic name must not contain the wildcards + or #"},
		{"will topic plus", Profile{WillTopic: ptr("a/+/b")}, "invalid --will-topic a/+/b: a topic name must not contain the wildcards + or #"},
		{"will topic empty", Profile{WillTopic: ptr(""), WillMessage: ptr("x")}, `invalid --will-topic "": must not be empty`},
		{"will response topic", Profile{WillTopic: ptr("t"), WillResponseTopic: ptr("r/#")}, "invalid --will-response-topic r/#: a topic name must not contain the wildcards + or #"},
		{"will user property", Profile{WillTopic: ptr("t"), WillUserProperties: []string{"nokv"}}, "invalid --will-user-property nokv: must be key=value"},
		{"user property", Profile{UserProperties: []string{"a=1", "b"}}, "invalid --conn-user-property b: must be key=value"},
		{"no-clean 3.1.1 without id", v3(Profile{Clean: ptr(false)}), "--no-clean needs --client-id with --mqtt-version 3.1.1 or 3.1: a resumable session needs a fixed client id"},
		{"no-clean 3.1 without id", Profile{MQTTVersion: ptr("3.1"), Clean: ptr(false), ClientID: ptr("")}, "--no-clean needs --client-id with --mqtt-version 3.1.1 or 3.1: a resumable session needs a fixed client id"},
		{"session expiry v3", v3(Profile{SessionExpiry: ptr(uint32(1))}), "--session-expiry needs --mqtt-version 5 (got 3.1.1)"},
		{"will delay v3", v3(Profile{WillTopic: ptr("t"), WillDelay: ptr(uint32(1))}), "--will-delay-interval needs --mqtt-version 5 (got 3.1.1)"},
		{"will expiry v3", v3(Profile{WillTopic: ptr("t"), WillMessageExpiry: ptr(uint32(1))}), "--will-message-expiry needs --mqtt-version 5 (got 3.1.1)"},
		{"will content type v3", v3(Profile{WillTopic: ptr("t"), WillContentType: ptr("x")}), "--will-content-type needs --mqtt-version 5 (got 3.1.1)"},
		{"will response topic v3", v3(Profile{WillTopic: ptr("t"), WillResponseTopic: ptr("x")}), "--will-response-topic needs --mqtt-version 5 (got 3.1.1)"},
		{"will correlation v3", v3(Profile{WillTopic: ptr("t"), WillCorrelationData: ptr("x")}), "--will-correlation-data needs --mqtt-version 5 (got 3.1.1)"},
		{"will payload format v3", v3(Profile{WillTopic: ptr("t"), WillPayloadFormat: ptr(false)}), "--will-payload-format-indicator needs --mqtt-version 5 (got 3.1.1)"},
		{"will user props v3", v3(Profile{WillTopic: ptr("t"), WillUserProperties: []string{"a=b"}}), "--will-user-property needs --mqtt-version 5 (got 3.1.1)"},
		{"receive maximum v3", Profile{MQTTVersion: ptr("3.1"), ReceiveMaximum: ptr(uint16(1))}, "--receive-maximum needs --mqtt-version 5 (got 3.1)"},
		{"max packet v3", v3(Profile{MaximumPacketSize: ptr(uint32(1))}), "--maximum-packet-size needs --mqtt-version 5 (got 3.1.1)"},
		{"alias max v3", v3(Profile{TopicAliasMaximum: ptr(uint16(1))}), "--topic-alias-maximum needs --mqtt-version 5 (got 3.1.1)"},
		{"response info v3", v3(Profile{RequestResponseInfo: ptr(true)}), "--request-response-info needs --mqtt-version 5 (got 3.1.1)"},
		{"problem info v3", v3(Profile{RequestProblemInfo: ptr(true)}), "--request-problem-info needs --mqtt-version 5 (got 3.1.1)"},
		{"connect user props v3", v3(Profile{UserProperties: []string{"a=b"}}), "--conn-user-property needs --mqtt-version 5 (got 3.1.1)"},
		{"ca on explicit mqtt", Profile{CA: ptr("ca.pem"), Protocol: ptr("mqtt")}, "--ca needs --protocol mqtts or wss (got mqtt)"},
		{"insecure on ws", Profile{Protocol: ptr("ws"), Insecure: ptr(true)}, "--insecure needs --protocol mqtts or wss (got ws)"},
		{"cert without key", Profile{Protocol: ptr("mqtts"), Cert: ptr("c")}, "--cert needs --key"},
		{"key without cert", Profile{Protocol: ptr("mqtts"), Key: ptr("k")}, "--key needs --cert"},
		{"ws path on mqtt", Profile{WSPath: ptr("/x")}, "--ws-path needs --protocol ws or wss (got mqtt)"},
		{"ws header on mqtts", Profile{Protocol: ptr("mqtts"), WSHeaders: []string{"A: b"}}, "--ws-header needs --protocol ws or wss (got mqtts)"},
		{"ws path relative", Profile{Protocol: ptr("ws"), WSPath: ptr("mqtt")}, "invalid --ws-path mqtt: must start with /"},
		{"ws header bad", Profile{Protocol: ptr("ws"), WSHeaders: []string{"bad"}}, `invalid --ws-header bad: must be "Name: value"`},
		{"receive maximum 0", Profile{ReceiveMaximum: ptr(uint16(0))}, "invalid --receive-maximum 0: must be 1-65535"},
		{"max packet 0", Profile{MaximumPacketSize: ptr(uint32(0))}, "invalid --maximum-packet-size 0: must be at least 1"},
		{"connect timeout negative", Profile{ConnectTimeout: ptr(-time.Second)}, "invalid --connect-timeout -1s: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p.Options()
			var ue *UsageError
			if err == nil || err.Error() != tt.want || !errors.As(err, &ue) {
				t.Fatalf("err = %v\nwant usage error %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
		})
	}
}

func TestConfigPath(t *testing.T) {
	if got := ConfigPath(env("MQTTX_CONFIG", "/x/c.yaml", "XDG_CONFIG_HOME", "/xdg")); got != "/x/c.yaml" {
		t.Errorf("MQTTX_CONFIG: %q", got)
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("XDG and HOME rules below are for Linux and BSD")
	}
	if got := ConfigPath(env("XDG_CONFIG_HOME", "/xdg", "HOME", "/home/u")); got != filepath.Join("/xdg", "mqttx", "config.yaml") {
		t.Errorf("XDG: %q", got)
	}
	if got := ConfigPath(env("XDG_CONFIG_HOME", "relative", "HOME", "/home/u")); got != "/home/u/.config/mqttx/config.yaml" {
		t.Errorf("relative XDG is ignored: %q", got)
	}
	if got := ConfigPath(env("HOME", "/home/u")); got != "/home/u/.config/mqttx/config.yaml" {
		t.Errorf("HOME: %q", got)
	}
}

func TestLoadSaveRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "dir", "config.yaml")
	c := &Config{Default: "prod", Profiles: map[string]Profile{
		"local": {Host: ptr("127.0.0.1"), Port: ptr(1883)},
		"prod": {Protocol: ptr("mqtts"), Host: ptr("broker.example.com"), Username: ptr("alice"), Password: ptr("s3cret: #x"),
			CA: ptr("/etc/ssl/ca.pem"), KeepAlive: ptr(0), Clean: ptr(false), ConnectTimeout: ptr(1500 * time.Millisecond),
			ALPN: []string{"mqtt"}, UserProperties: []string{"a=b"}, SessionExpiry: ptr(uint32(60)), ReceiveMaximum: ptr(uint16(5))},
	}}
	if err := SaveConfig(path, c); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("file mode %v, want 0600", st.Mode().Perm())
		}
		for _, d := range []string{filepath.Join(dir, "sub"), filepath.Join(dir, "sub", "dir")} {
			st, err := os.Stat(d)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o700 {
				t.Errorf("dir %s mode %v, want 0700", d, st.Mode().Perm())
			}
		}
		// Saving again over an existing file keeps 0600 and leaves no temporary files.
		if err := SaveConfig(path, &Config{}); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(filepath.Dir(path))
		if len(entries) != 1 {
			t.Errorf("directory holds %d entries, want just the config", len(entries))
		}
	}
}

func TestLoadConfigExample(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	data := "default: local\nprofiles:\n  local: {host: 127.0.0.1, port: 1883}\n  prod: {protocol: mqtts, host: broker.example.com, username: alice, password: s3cret, ca: /etc/ssl/ca.pem, connect_timeout: 5s}\n"
	// World-readable is fine to read; nothing is changed.
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{Default: "local", Profiles: map[string]Profile{
		"local": {Host: ptr("127.0.0.1"), Port: ptr(1883)},
		"prod":  {Protocol: ptr("mqtts"), Host: ptr("broker.example.com"), Username: ptr("alice"), Password: ptr("s3cret"), CA: ptr("/etc/ssl/ca.pem"), ConnectTimeout: ptr(5 * time.Second)},
	}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
	if st, _ := os.Stat(path); runtime.GOOS != "windows" && st.Mode().Perm() != 0o644 {
		t.Errorf("LoadConfig changed the mode to %v", st.Mode().Perm())
	}
}

func TestLoadConfigMissingAndEmpty(t *testing.T) {
	dir := t.TempDir()
	c, err := LoadConfig(filepath.Join(dir, "nope.yaml"))
	if err != nil || c == nil || c.Default != "" || c.Profiles != nil {
		t.Fatalf("missing: %+v, %v", c, err)
	}
	empty := filepath.Join(dir, "empty.yaml")
	os.WriteFile(empty, nil, 0o600)
	c, err = LoadConfig(empty)
	if err != nil || c == nil {
		t.Fatalf("empty: %+v, %v", c, err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"unknown top key", "default: a\nprofile:\n  a: {}\n", `line 2: unknown key "profile"`},
		{"unknown profile key", "profiles:\n  a:\n    host: h\n    hots: x\n", `line 4: unknown key "hots"`},
		{"wrong type", "profiles:\n  a:\n    port: abc\n", "line 3: cannot unmarshal !!str `abc` into int"},
		{"bad duration", "profiles:\n  a:\n    connect_timeout: 5\n", "line 3: cannot unmarshal !!int `5` into time.Duration"},
		{"syntax", "profiles:\n  a: [\n", "line 2: did not find expected node content"},
		{"tabs", "profiles:\n\ta: {}\n", "line 2: found character that cannot start any token"},
		{"empty name", "profiles:\n  '': {host: x}\n", "a profile name must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(tt.data), 0o600)
			_, err := LoadConfig(path)
			if err == nil {
				t.Fatal("no error")
			}
			want := "config " + path + ": " + tt.want
			if !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("err = %q\nwant prefix %q", err, want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
		})
	}
}

func writeConfig(t *testing.T, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const testConfig = `default: local
profiles:
  local: {host: 127.0.0.1, port: 1884, username: saved, keepalive: 10}
  prod: {protocol: mqtts, host: broker.example.com, username: alice, password: s3cret}
`

func TestResolvePrecedence(t *testing.T) {
	cfg := writeConfig(t, testConfig)
	tests := []struct {
		name  string
		args  []string
		env   func(string) string
		check func(t *testing.T, p Profile)
	}{
		{"defaults under the default profile", nil, env(), func(t *testing.T, p Profile) {
			eq(t, *p.Host, "127.0.0.1")
			eq(t, *p.Port, 1884)
			eq(t, *p.KeepAlive, 10)
			eq(t, *p.Protocol, "mqtt")     // default
			eq(t, *p.MQTTVersion, "5")     // default
			eq(t, *p.Clean, true)          // default
			eq(t, *p.Username, "saved")    // saved
			eq(t, p.Password == nil, true) // nowhere
		}},
		{"env profile", nil, env("MQTTX_PROFILE", "prod"), func(t *testing.T, p Profile) {
			eq(t, *p.Host, "broker.example.com")
			eq(t, *p.Protocol, "mqtts")
			eq(t, p.Port == nil, true)
		}},
		{"flag profile beats env profile", []string{"--profile", "local"}, env("MQTTX_PROFILE", "prod"), func(t *testing.T, p Profile) {
			eq(t, *p.Host, "127.0.0.1")
		}},
		{"env beats saved", nil, env("MQTTX_HOST", "envhost", "MQTTX_PASSWORD", "envpw"), func(t *testing.T, p Profile) {
			eq(t, *p.Host, "envhost")
			eq(t, *p.Password, "envpw")
			eq(t, *p.Port, 1884) // saved, env has no port
		}},
		{"flags beat env", []string{"-h", "flaghost", "-k", "0"}, env("MQTTX_HOST", "envhost", "MQTTX_PORT", "2000"), func(t *testing.T, p Profile) {
			eq(t, *p.Host, "flaghost")
			eq(t, *p.Port, 2000)
			eq(t, *p.KeepAlive, 0)
		}},
		{"unset flags do not override", []string{"-i", "me"}, env("MQTTX_PROFILE", "prod"), func(t *testing.T, p Profile) {
			eq(t, *p.Protocol, "mqtts") // the -l default "mqtt" in help must not win
			eq(t, *p.MQTTVersion, "5")
			eq(t, *p.ClientID, "me")
		}},
		{"no-clean beats default", []string{"--no-clean"}, env(), func(t *testing.T, p Profile) {
			eq(t, *p.Clean, false)
		}},
		{"url beats env, flags beat url", []string{"-L", "mqtt://u:p@urlhost:1999/t", "-u", "flaguser"}, env("MQTTX_HOST", "envhost", "MQTTX_USERNAME", "envuser"), func(t *testing.T, p Profile) {
			eq(t, *p.Host, "urlhost")
			eq(t, *p.Port, 1999)
			eq(t, *p.Username, "flaguser")
			eq(t, *p.Password, "p")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Resolve(newFlags(t, tt.args...), tt.env, cfg)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
			if _, err := p.Options(); err != nil {
				t.Fatalf("resolved profile does not validate: %v", err)
			}
		})
	}
}

func eq[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestResolveConfigSources(t *testing.T) {
	cfg := writeConfig(t, testConfig)
	// --config names the file when configPath is "".
	p, err := Resolve(newFlags(t, "--config", cfg), env(), "")
	if err != nil || *p.Host != "127.0.0.1" {
		t.Fatalf("--config: %+v %v", p, err)
	}
	// $MQTTX_CONFIG through ConfigPath.
	p, err = Resolve(newFlags(t), env("MQTTX_CONFIG", cfg), "")
	if err != nil || *p.Host != "127.0.0.1" {
		t.Fatalf("MQTTX_CONFIG: %+v %v", p, err)
	}
	// No config anywhere: defaults.
	p, err = Resolve(nil, env("MQTTX_CONFIG", filepath.Join(t.TempDir(), "none.yaml")), "")
	if err != nil || *p.Host != "localhost" {
		t.Fatalf("no config: %+v %v", p, err)
	}
	// A missing file named by --config is an error.
	_, err = Resolve(newFlags(t, "--config", "/does/not/exist.yaml"), env(), "")
	var ue *UsageError
	if !errors.As(err, &ue) || err.Error() != "invalid --config /does/not/exist.yaml: no such file" {
		t.Fatalf("missing --config: %v", err)
	}
}

func TestResolveMissingProfile(t *testing.T) {
	cfg := writeConfig(t, testConfig)
	tests := []struct {
		name string
		args []string
		env  func(string) string
		path string
		want string
	}{
		{"flag", []string{"--profile", "nope"}, env(), cfg, `profile "nope" (from --profile) not found in ` + cfg + ": have local, prod"},
		{"env", nil, env("MQTTX_PROFILE", "nope"), cfg, `profile "nope" (from $MQTTX_PROFILE) not found in ` + cfg + ": have local, prod"},
		{"no config file", []string{"--profile", "x"}, env(), "/does/not/exist.yaml", `profile "x" (from --profile) not found in /does/not/exist.yaml: none saved`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve(newFlags(t, tt.args...), tt.env, tt.path)
			var ue *UsageError
			if !errors.As(err, &ue) || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant %q", err, tt.want)
			}
		})
	}
	bad := writeConfig(t, "default: gone\nprofiles:\n  a: {}\n")
	_, err := Resolve(nil, env(), bad)
	if err == nil || !strings.Contains(err.Error(), `profile "gone" (from default in config `+bad+`) not found`) {
		t.Fatalf("default naming a missing profile: %v", err)
	}
}

func TestResolveErrors(t *testing.T) {
	_, err := Resolve(newFlags(t), env("MQTTX_PORT", "x"), filepath.Join(t.TempDir(), "none"))
	if err == nil || err.Error() != "invalid MQTTX_PORT x: must be a port number 1-65535" {
		t.Errorf("bad env: %v", err)
	}
	bad := writeConfig(t, "nonsense: 1\n")
	_, err = Resolve(newFlags(t), env(), bad)
	if err == nil || err.Error() != "config "+bad+`: line 1: unknown key "nonsense"` {
		t.Errorf("bad config: %v", err)
	}
	_, err = Resolve(newFlags(t, "-L", "foo"), env(), filepath.Join(t.TempDir(), "none"))
	if err == nil || !strings.HasPrefix(err.Error(), "invalid --url foo:") {
		t.Errorf("bad url: %v", err)
	}
}

// TestSettingsCoverProfile checks that every Profile field has exactly one row in
// Settings and that the row's YAML key is the field's yaml tag, so the table and the
// config file cannot drift apart.
func TestSettingsCoverProfile(t *testing.T) {
	var p Profile
	v := reflect.ValueOf(&p).Elem()
	rows := map[uintptr]Setting{}
	for _, s := range Settings {
		addr := reflect.ValueOf(s.field(&p)).Pointer()
		if prev, dup := rows[addr]; dup {
			t.Fatalf("settings %s and %s share a field", prev.Flag, s.Flag)
		}
		rows[addr] = s
		if s.Help == "" || s.Key == "" || s.Group == "" {
			t.Errorf("setting %s lacks help, key or group", s.Flag)
		}
	}
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		s, ok := rows[v.Field(i).Addr().Pointer()]
		if !ok {
			t.Errorf("field %s has no row in Settings", f.Name)
			continue
		}
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag != s.Key {
			t.Errorf("setting %s: key %q, field %s has yaml tag %q", s.Flag, s.Key, f.Name, tag)
		}
	}
	if len(rows) != v.NumField() {
		t.Errorf("%d settings for %d fields", len(rows), v.NumField())
	}
}

// TestSettingsV5OnlyCheck sets each MQTT 5 only setting alone with -V 3.1.1 and expects
// the usage error naming its flag.
func TestSettingsV5OnlyCheck(t *testing.T) {
	for _, s := range Settings {
		if !s.V5Only {
			continue
		}
		t.Run(s.Flag, func(t *testing.T) {
			p := Profile{MQTTVersion: ptr("3.1.1"), WillTopic: ptr("w")}
			if err := s.parse(&p, []string{"1"}); err != nil {
				t.Fatal(err)
			}
			_, err := p.Options()
			want := "--" + s.Flag + " needs --mqtt-version 5 (got 3.1.1)"
			var ue *UsageError
			if !errors.As(err, &ue) || err.Error() != want {
				t.Fatalf("err = %v, want %q", err, want)
			}
		})
	}
}

func TestResolveUnreadableDefaultConfigWarns(t *testing.T) {
	if runtime.GOOS == "windows" || os.Getuid() == 0 {
		t.Skip("needs file permissions that bind the user")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "mqttx", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("default: x\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	p, err := ResolveWarn(newFlags(t), env("XDG_CONFIG_HOME", dir), "", func(s string) { warnings = append(warnings, s) })
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "permission denied") || *p.Host != "localhost" {
		t.Fatalf("default file: %v, warnings %q", err, warnings)
	}
	// Named by --config it is an error.
	_, err = ResolveWarn(newFlags(t, "--config", path), env(), "", func(string) {})
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("--config: %v", err)
	}
}

func TestCAImpliesTLS(t *testing.T) {
	o, err := Profile{CA: ptr("ca.pem")}.Options()
	if err != nil || o.Scheme != "mqtts" || o.Port != 8883 {
		t.Fatalf("--ca alone: %s:%d %v; want mqtts on 8883", o.Scheme, o.Port, err)
	}
	if v, err := ParseVersion("mqttv311"); err != nil || v != mqttc.V311 {
		t.Fatalf("mqttv311: %v %v", v, err)
	}
}

// TestSettingsV5OnlyReachOptions checks that each MQTT 5 only row of the table, the one
// place that knows which settings need MQTT 5 (mqttc.Options.Validate defers to it),
// sets something in the client options with -V 5.
func TestSettingsV5OnlyReachOptions(t *testing.T) {
	base := Profile{MQTTVersion: ptr("5"), WillTopic: ptr("w"), ClientID: ptr("id")}
	want, err := base.Options()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings {
		if !s.V5Only {
			continue
		}
		changed := false
		for _, v := range []string{"7", "true", "false", "k=v"} {
			p := base
			if s.parse(&p, []string{v}) != nil {
				continue
			}
			got, err := p.Options()
			changed = changed || (err == nil && !reflect.DeepEqual(got, want))
		}
		if !changed {
			t.Errorf("--%s changes nothing in the client options", s.Flag)
		}
	}
}
