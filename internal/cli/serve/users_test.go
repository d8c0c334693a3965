package serve

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/mqttx/mqttx/internal/mqttc"
)

func hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestLoadUsersErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	tests := []struct {
		name, file string
		want       []string
	}{
		{"missing", missing, []string{"users file " + missing, "no such file"}},
		{"empty", writeFile(t, ""), []string{"no users"}},
		{"not a mapping", writeFile(t, "- alice\n- bob\n"), []string{"username: bcrypt-hash"}},
		{"plain password", writeFile(t, "alice: secret\n"), []string{`user "alice": not a bcrypt hash`, "htpasswd"}},
		{"bad yaml", writeFile(t, "alice: [\n"), []string{"users file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadUsers(tt.file)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestUsersAuthenticate(t *testing.T) {
	// htpasswd writes $2y$ hashes; Go's bcrypt writes $2a$. Both must work.
	y := strings.Replace(hash(t, "pw-bob"), "$2a$", "$2y$", 1)
	u, err := loadUsers(writeFile(t, "alice: "+strconv.Quote(hash(t, "pw-alice"))+"\nbob: '"+y+"'\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, pw string
		hasPW    bool
		ok       bool
	}{
		{"alice", "pw-alice", true, true},
		{"bob", "pw-bob", true, true},
		{"alice", "pw-bob", true, false},
		{"alice", "", false, false},
		{"carol", "pw-alice", true, false},
		{"", "", false, false},
	}
	for _, tt := range tests {
		if got := u.authenticate("id", tt.user, []byte(tt.pw), tt.hasPW); got != tt.ok {
			t.Errorf("authenticate(%q, %q, %v) = %v, want %v", tt.user, tt.pw, tt.hasPW, got, tt.ok)
		}
	}
}

// TestServeUsers checks that --users admits the listed users and refuses everyone else,
// with our client and with mosquitto_pub.
func TestServeUsers(t *testing.T) {
	o := defaults()
	o.UsersFile = writeFile(t, "alice: '"+hash(t, "s3cret")+"'\n")
	s := startServe(t, o)

	client(t, "mqtt", s.addrs["mqtt"], "ok5", mqttc.V5, func(o *mqttc.Options) {
		o.Username, o.Password, o.HasPassword = "alice", "s3cret", true
	})
	client(t, "mqtt", s.addrs["mqtt"], "ok3", mqttc.V311, func(o *mqttc.Options) {
		o.Username, o.Password, o.HasPassword = "alice", "s3cret", true
	})

	for _, tc := range []struct {
		name     string
		v        mqttc.Version
		user, pw string
	}{
		{"wrong password v5", mqttc.V5, "alice", "nope"},
		{"anonymous v5", mqttc.V5, "", ""},
		{"wrong password v3.1.1", mqttc.V311, "alice", "nope"},
		{"unknown user v3.1.1", mqttc.V311, "mallory", "s3cret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, port := hostPort(t, s.addrs["mqtt"])
			c, err := mqttc.New(mqttc.Options{Version: tc.v, Host: host, Port: port, ClientID: "bad", CleanStart: true,
				Username: tc.user, Password: tc.pw, HasPassword: tc.pw != ""})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Connect(ctx5(t))
			var re *mqttc.RefusedError
			if !errors.As(err, &re) {
				_ = c.Disconnect(ctx5(t))
				t.Fatalf("connect: %v, want a refusal", err)
			}
		})
	}

	_, port := hostPort(t, s.addrs["mqtt"])
	runPub(t, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-u", "alice", "-P", "s3cret", "-t", "t", "-m", "m", "-q", "1")
}
