package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadResolvesFilesAndRejectsUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "serve.yaml")
	os.WriteFile(name, []byte("port: 1884\nusers: passwd\nacl: /etc/acl\nws_origins: [a.example]\nallow_anonymous: false\n"), 0o600)
	c, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	if *c.Port != 1884 || *c.Users != filepath.Join(dir, "passwd") || *c.ACL != "/etc/acl" || (*c.WSOrigins)[0] != "a.example" || *c.AllowAnonymous {
		t.Fatalf("loaded %+v", c)
	}
	if c.Host != nil || c.TLSPort != nil {
		t.Fatal("keys absent from the file are set")
	}
	for _, tt := range []struct{ in, want string }{
		{"prot: 1\n", "line 1: unknown key prot; mqttx serve --print-config shows every key"},
		{"port: x\n", "line 1: cannot unmarshal"},
		{"max_keepalive: 70000\n", "line 1: cannot unmarshal"},
		{"port: [\n", "line 1"},
		{"sys_interval: 10\n", "line 1: invalid duration"},
	} {
		_, err := Parse([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q) = %v, want %q on one line", tt.in, err, tt.want)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	port, no, users, alias := 0, false, "/x/passwd", uint16(0)
	c := &Config{Port: &port, AllowAnonymous: &no, Users: &users, MaxTopicAlias: &alias, WSOrigins: &[]string{"a", "b:1"}}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, back) {
		t.Fatalf("round trip:\n%s\ngave %+v", b, back)
	}
}

// FuzzParse checks that Parse never panics, reports errors on one line, and
// that what it accepts survives Marshal and Parse unchanged.
func FuzzParse(f *testing.F) {
	f.Add([]byte("host: 0.0.0.0\nport: 1883\nws_origins: [a]\nverbose: true\n"))
	f.Add([]byte("max_session_expiry: 4294967295\nusers: ''\n"))
	f.Add([]byte("sys_interval: 1m30s\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("Marshal output does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(c, back) {
			t.Fatalf("round trip changed %+v into %+v", c, back)
		}
	})
}
