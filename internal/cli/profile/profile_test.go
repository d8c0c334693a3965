package profilecmd

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mqttx/mqttx/internal/profile"
)

func TestShowMasksPassword(t *testing.T) {
	host, pw, port, clean := "b.example", "s3cret", 8883, false
	var b bytes.Buffer
	if err := show(&b, profile.Profile{Host: &host, Password: &pw, Port: &port, Clean: &clean, ALPN: []string{"mqtt", "x"}}); err != nil {
		t.Fatal(err)
	}
	want := "host: b.example\nport: 8883\npassword: ********\nclean: false\nalpn: mqtt, x\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), pw) {
		t.Fatal("password shown")
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"prod", "my-broker_2", "ünï"} {
		if err := validName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", " ", "-x", "a\nb", "tab\there"} {
		if err := validName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
