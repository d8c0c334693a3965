package profile

import (
	"reflect"
	"strings"
	"testing"
)

// escapeAll percent-encodes every byte that is not a letter or digit.
func escapeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}

func plainHost(h string) bool {
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_:", r)) {
			return false
		}
	}
	return h != ""
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"mqtt://localhost", "mqtt://user:pass@host:1884/a/b", "mqtts://[::1]:8883/t", "ws://h:8083/mqtt",
		"wss://u:p%40ss@h/", "tcp://h/sensor/#", "mqtt://u:p%zz@h", "mqtt://h:0", "http://x", "mqtt://[::1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, topic, err := ParseURL(raw)
		if err != nil {
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "invalid --url ") {
				t.Fatalf("bad error %q", err)
			}
			return
		}
		if p.Protocol == nil || DefaultPort(*p.Protocol) == 0 {
			t.Fatalf("protocol %v", p.Protocol)
		}
		if p.Host == nil || *p.Host == "" {
			t.Fatalf("empty host from %q", raw)
		}
		if p.Port != nil && (*p.Port < 1 || *p.Port > 65535) {
			t.Fatalf("port %d from %q", *p.Port, raw)
		}
		ws := *p.Protocol == "ws" || *p.Protocol == "wss"
		if ws && topic != "" || !ws && p.WSPath != nil {
			t.Fatalf("topic %q ws path %v for %s", topic, p.WSPath, *p.Protocol)
		}
		if !plainHost(*p.Host) {
			return
		}
		// Rebuild the URL from the parts, escaping everything, and parse it again.
		u := *p.Protocol + "://"
		if p.Username != nil {
			u += escapeAll(*p.Username)
			if p.Password != nil {
				u += ":" + escapeAll(*p.Password)
			}
			u += "@"
		}
		if strings.Contains(*p.Host, ":") {
			u += "[" + *p.Host + "]"
		} else {
			u += *p.Host
		}
		if p.Port != nil {
			u += ":" + itoa(*p.Port)
		}
		if p.WSPath != nil {
			u += *p.WSPath
		} else if topic != "" {
			u += "/" + escapeAll(topic)
		}
		p2, topic2, err := ParseURL(u)
		if err != nil {
			t.Fatalf("rebuilt %q from %q: %v", u, raw, err)
		}
		if !reflect.DeepEqual(p, p2) || topic != topic2 {
			t.Fatalf("%q -> %+v %q\nrebuilt %q -> %+v %q", raw, p, topic, u, p2, topic2)
		}
	})
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func FuzzParseKV(f *testing.F) {
	for _, s := range []string{"a=b", "a=b=c", "a=", "=b", "", "noeq", "ключ=значение", "\x00=\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kv, err := ParseKV("--user-property", s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "invalid --user-property ") {
				t.Fatalf("bad error %q", err)
			}
			if i := strings.IndexByte(s, '='); i > 0 {
				t.Fatalf("%q has a key but was refused", s)
			}
			return
		}
		if kv.Key == "" || strings.Contains(kv.Key, "=") || kv.Key+"="+kv.Value != s {
			t.Fatalf("%q -> %+v", s, kv)
		}
	})
}

func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{
		testConfig,
		"",
		"default: a\n",
		"profiles:\n  a:\n    host: h\n    hots: x\n",
		"profiles:\n  a: {alpn: [], ws_headers: ['A: b'], connect_timeout: 1m30s, clean: false, keepalive: 0}\n",
		"profiles:\n  a: null\n",
		"profiles: {}\n",
		"- 1\n- 2\n",
		"profiles:\n  a: {port: 99999999999999999999}\n",
		"&a [*a]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseConfig("fuzz.yaml", data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "config fuzz.yaml: ") {
				t.Fatalf("bad error %q", err)
			}
			return
		}
		out, err := marshalConfig(c)
		if err != nil {
			t.Fatalf("a loaded config does not save: %v", err)
		}
		c2, err := parseConfig("resaved.yaml", out)
		if err != nil {
			t.Fatalf("a saved config does not load: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v\n%s", c, c2, out)
		}
	})
}

// FuzzParseExpiry: an accepted -x is "never" or the number typed, and it round-trips
// through the flag value's text.
func FuzzParseExpiry(f *testing.F) {
	for _, s := range []string{"0", "60", "never", "-1", "∞", "4294967295", "4294967296", "1h", " 7 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseExpiry(s)
		if err != nil {
			return
		}
		var e expiryValue
		if err := e.Set(e.String()); err != nil {
			t.Fatalf("zero value does not round-trip: %v", err)
		}
		if err := e.Set(s); err != nil || uint32(e) != v {
			t.Fatalf("Set(%q) = %d, %v; ParseExpiry gave %d", s, e, err, v)
		}
		back, err := ParseExpiry(e.String())
		if err != nil || back != v {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, v, e.String(), back, err)
		}
	})
}
